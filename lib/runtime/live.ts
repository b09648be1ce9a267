/**
 * What a live cluster says about itself, as plain data: a member as etcd's member list has it, and a
 * member's own status. Pure (no etcd client), so that the judge and the CLI's printers can name these
 * shapes without loading gRPC; lib/runtime/session.ts fills them.
 */

/** A member as etcd's member list has it (IDs as decimal strings, as the client returns them). */
export interface LiveMember {
  readonly ID: string;
  /** Empty for a member added but never started. */
  readonly name: string;
  readonly peerURLs: string[];
  readonly clientURLs: string[];
  readonly isLearner: boolean;
}

/** What one member says of itself (etcd's Maintenance.Status), numbers as the decimal strings etcd sends. */
export interface MemberStatus {
  readonly memberId: string;
  readonly clusterId: string;
  /** ID of the leader this member knows; '0' for none. */
  readonly leader: string;
  readonly isLeader: boolean;
  readonly isLearner: boolean;
  /** Raft committed index. */
  readonly raftIndex: string;
  readonly raftTerm: string;
  /** Raft applied index; '0' when the member does not report it (before etcd 3.4). */
  readonly raftAppliedIndex: string;
  /** The key-value store's revision it serves. */
  readonly revision: string;
  /** Bytes of the backend database on disk, and of those in use (0 when not reported, before 3.4). */
  readonly dbSize: number;
  readonly dbSizeInUse: number;
  /** The etcd server version, e.g. `3.5.21`. */
  readonly version: string;
  /** Errors the member reports about itself (alarms), as etcd words them. */
  readonly errors: string[];
}

/** A member ID as etcdctl prints it (hex); undefined stays undefined. */
export function hex(id: string): string;
export function hex(id: string | undefined): string | undefined;
export function hex(id: string | undefined): string | undefined {
  return id ? BigInt(id).toString(16) : undefined;
}
