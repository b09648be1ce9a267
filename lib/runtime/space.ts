/**
 * etcd's defragmentation rule as pure functions (no etcd client): which member to defragment and in which
 * order. `etcd-cluster defrag --if-needed` and `reclaim` decide by it here; the backup container's
 * scheduled defragmenter decides by the same rule in Go (tools/etcd-backup/defrag.go), and both are held
 * to the same cases (tools/etcd-backup/testdata/defrag-rule.json).
 *
 * The rule (the common one, also etcd-defrag's example rule): defragment a member when its database
 * exceeds `quotaPercent` of the quota, or when at least `reclaimableBytes` could be given back (database
 * size minus size in use). The quota reason counts only when defragmenting brings the database back under
 * the threshold, that is when what is in use is under it: a database whose data itself is over it is
 * `full`, and no defragmentation helps (delete keys or raise the quota).
 */

/** The quota and the rule's numbers (the expectation's `space`). */
export interface SpaceRule {
  readonly quotaBytes: number;
  readonly quotaPercent: number;
  readonly reclaimableBytes: number;
}

export type DefragReason = 'quota' | 'reclaimable';

export interface DefragDecision {
  /** Why to defragment; empty: leave it. */
  readonly reasons: DefragReason[];
  /** Over the threshold with what is in use over it too: defragmenting cannot bring it back under. */
  readonly full: boolean;
}

/** Whether this many bytes exceed the rule's percentage of the quota. */
export function overThreshold(rule: SpaceRule, bytes: number): boolean {
  return bytes * 100 > rule.quotaBytes * rule.quotaPercent;
}

/** The rule, applied to a database of `dbSize` bytes of which `inUse` are in use. */
export function decide(rule: SpaceRule, dbSize: number, inUse: number): DefragDecision {
  const reasons: DefragReason[] = [];
  let full = false;
  if (overThreshold(rule, dbSize)) {
    if (overThreshold(rule, inUse)) full = true;
    else reasons.push('quota');
  }
  if (dbSize - inUse >= rule.reclaimableBytes) reasons.push('reclaimable');
  return { reasons, full };
}

export const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
/** A percentage to a tenth, rounded down (80.6%, not 81%: "over 80%" must read true). */
const percentOf = (bytes: number, of: number) => `${(Math.floor((bytes * 1000) / of) / 10).toFixed(1)}%`;

/** A decision in words, as the scheduled defragmenter journals it. */
export function reasonText(rule: SpaceRule, dbSize: number, inUse: number, d: DefragDecision): string {
  return d.reasons
    .map((r) =>
      r === 'quota'
        ? `database ${mib(dbSize)} is ${percentOf(dbSize, rule.quotaBytes)} of the quota ${mib(rule.quotaBytes)} (over ${rule.quotaPercent}%)`
        : `${mib(dbSize - inUse)} reclaimable (at least ${mib(rule.reclaimableBytes)})`,
    )
    .join('; ');
}

/** Followers first (by name), the leader last: a leader's defragmentation stalls every write. */
export function defragOrder<T extends { readonly name: string; readonly isLeader: boolean }>(members: readonly T[]): T[] {
  return [...members].sort((a, b) => Number(a.isLeader) - Number(b.isLeader) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
