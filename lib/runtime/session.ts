/**
 * One session with a live cluster, built on its target (lib/contract): the connection policy (TLS, the root
 * login, timeouts) in one place, one client per primary, and the questions every command asks, written
 * once: each primary's status and member list, the member list, the alarms. Verify, members, membership
 * changes, maintenance, snapshots and rollout all talk to the cluster through a session; so does a new
 * day-two command.
 *
 * Primaries are asked directly at their host endpoints, never through a proxy (a grpc-proxy's member list
 * is synthetic and can be stale). Nothing here retries: callers that wait retry through retry.ts.
 *
 * ```ts
 * const s = new ClusterSession(expectation.target, { password, callTimeoutMs: 3000 });
 * try {
 *   for (const v of await s.survey()) console.log(v.primary.name, v.status?.raftIndex ?? v.error);
 * } finally {
 *   s.close();
 * }
 * ```
 */
import type { Etcd3 } from 'etcd3';
import type { Target } from '../contract';
import { ClusterUnreachable, InvalidRequest, MembershipError } from './errors';
import { connect, errorText } from './etcd-client';
import { hex, type LiveMember, type MemberStatus } from './live';

export { hex, type LiveMember, type MemberStatus } from './live';

/** The part of a target a session needs: every target (including one converted from version 1) is one. */
export interface SessionTarget {
  readonly cluster: string;
  readonly primaries: readonly { readonly name: string; readonly index: number; readonly endpoint: string }[];
  readonly tls: Target['tls'];
  readonly auth: Target['auth'];
}

export type SessionPrimary = SessionTarget['primaries'][number];

export interface SessionOptions {
  /** The root password, for a cluster with `auth` (the CLI reads it from the variable the spec names). */
  readonly password?: string;
  /** Dial timeout and deadline of each call, in milliseconds. @default 2000 */
  readonly callTimeoutMs?: number;
}

/** One primary as it answered: its status and member list, or why it did not answer. */
export interface PrimaryView {
  readonly primary: SessionPrimary;
  readonly status?: MemberStatus;
  readonly members?: LiveMember[];
  /** Why it did not answer (set when there is no status). */
  readonly error?: string;
}

/** An active alarm, with the member it is about by name (its hex ID when the member list does not know it). */
export interface ActiveAlarm {
  readonly member: string;
  readonly memberId: string;
  /** etcd's name: `NOSPACE`, `CORRUPT`. */
  readonly alarm: string;
}

export interface ClientOptions {
  /** Log in as root (with `auth`). @default true */
  readonly login?: boolean;
  /** Another deadline for this client's calls (a snapshot stream). @default the session's */
  readonly timeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 2000;

/** The key the read barrier asks for (it need not exist: only the path through raft matters). */
const BARRIER_KEY = '/etcd-cluster/read-barrier';

export class ClusterSession {
  private readonly clients = new Map<string, Etcd3>();

  constructor(
    readonly target: SessionTarget,
    private readonly opts: SessionOptions = {},
  ) {}

  get cluster(): string {
    return this.target.cluster;
  }

  /** The primary of this name in the target, if any. */
  primary(name: string): SessionPrimary | undefined {
    return this.target.primaries.find((p) => p.name === name);
  }

  /**
   * The client of one endpoint (a primary's, or a secondary's published port), made on first use with the
   * cluster's TLS material and login, and closed with the session.
   */
  client(endpoint: string, opts: ClientOptions = {}): Etcd3 {
    const login = opts.login ?? true;
    const timeoutMs = opts.timeoutMs ?? this.opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const key = `${endpoint} ${login} ${timeoutMs}`;
    let c = this.clients.get(key);
    if (!c) {
      const auth = this.target.auth;
      if (auth && login && this.opts.password === undefined) throw new InvalidRequest(`the root password is needed: set ${auth.passwordEnv}`);
      c = connect(endpoint, {
        timeoutMs,
        tls: this.target.tls,
        ...(auth && login ? { auth: { username: auth.user, password: this.opts.password! } } : {}),
      });
      this.clients.set(key, c);
    }
    return c;
  }

  /** One member's status, as it reports it (it needs no login: `{ login: false }` asks without one). */
  async status(endpoint: string, opts: ClientOptions = {}): Promise<MemberStatus> {
    const s = await this.client(endpoint, opts).maintenance.status();
    return {
      memberId: s.header.member_id,
      clusterId: s.header.cluster_id,
      leader: s.leader,
      isLeader: s.leader === s.header.member_id,
      isLearner: !!s.isLearner,
      raftIndex: s.raftIndex,
      raftTerm: s.raftTerm,
      raftAppliedIndex: s.raftAppliedIndex ?? '0',
      revision: s.header.revision,
      dbSize: Number(s.dbSize),
      dbSizeInUse: Number(s.dbSizeInUse ?? 0),
      version: s.version,
      errors: s.errors ?? [],
    };
  }

  /**
   * Throws unless this endpoint's member can confirm a read through raft: a linearizable Range of one key,
   * which every etcd we accept (3.4 to 3.6) serves only after the leader has confirmed, through a quorum,
   * that it still leads (ReadIndex), and after this member has applied everything committed until then.
   * That is "there is a quorum, and this member is up to date". It is a Range and not a request field on
   * purpose: MemberList's `linearizable` exists only since etcd 3.5, and 3.4 drops it without an error and
   * answers from its own memory (a lone survivor would "answer linearizably").
   *
   * It needs no login (`{ login: false }` asks without one): etcd checks the read's permission only after
   * the ReadIndex (v3_server.go, Range, on 3.4 to 3.6), so on a cluster with auth the refusal of an anonymous
   * read proves the same as an answer: "user name is empty", or "permission denied" with TLS, where etcd
   * takes the client certificate's common name for the user and finds no such user.
   */
  async readBarrier(endpoint: string, opts: ClientOptions = {}): Promise<void> {
    try {
      await this.client(endpoint, opts).kv.range({ key: Buffer.from(BARRIER_KEY), limit: 1, keys_only: true, count_only: true, serializable: false });
    } catch (err) {
      if (/etcdserver: (user name is empty|permission denied)/.test(String((err as Error)?.message))) return;
      throw err;
    }
  }

  /**
   * The member list as this endpoint has it; linearizable first passes the read barrier through it (so the
   * list is the one the cluster agreed on, on every etcd version; see readBarrier). It needs no login:
   * `{ login: false }` asks without one (a login goes through raft, so without a quorum it fails).
   */
  async memberList(endpoint: string, linearizable = false, opts: ClientOptions = {}): Promise<LiveMember[]> {
    if (linearizable) await this.readBarrier(endpoint, opts);
    // The field too: etcd 3.5 and later honour it; 3.4 ignores it, and the barrier above stands for it.
    const r = await this.client(endpoint, opts).cluster.memberList({ linearizable });
    return r.members.map((m) => ({ ID: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: !!m.isLearner }));
  }

  /** Every primary of the target, asked at once for its status and its member list; never throws. */
  async survey(): Promise<PrimaryView[]> {
    return Promise.all(
      this.target.primaries.map(async (primary): Promise<PrimaryView> => {
        try {
          const [status, members] = await Promise.all([this.status(primary.endpoint), this.memberList(primary.endpoint)]);
          return { primary, status, members };
        } catch (err) {
          return { primary, error: errorText(err) };
        }
      }),
    );
  }

  /** Every primary's status; throws when one does not answer (ClusterUnreachable when none does). */
  async statusOfAll(): Promise<(PrimaryView & { status: MemberStatus })[]> {
    const all = await Promise.all(this.target.primaries.map((p) => this.statusView(p)));
    const down = all.filter((v) => !v.status);
    if (down.length === all.length) throw this.unreachable(down);
    if (down.length) {
      throw new MembershipError(`primary ${down.map((v) => v.primary.name).join(', ')} does not answer (${down.map((v) => v.error).join('; ')})`);
    }
    return all as (PrimaryView & { status: MemberStatus })[];
  }

  /**
   * A primary that answers, with its status: the leader when `leaderFirst` and one of them knows it, else
   * the first in spec order. Throws ClusterUnreachable when none answers.
   */
  async anyPrimary(opts: { leaderFirst?: boolean } = {}): Promise<{ primary: SessionPrimary; status: MemberStatus; client: Etcd3 }> {
    const views: PrimaryView[] = [];
    if (opts.leaderFirst) {
      views.push(...(await Promise.all(this.target.primaries.map((p) => this.statusView(p)))));
    } else {
      for (const primary of this.target.primaries) {
        const v = await this.statusView(primary);
        views.push(v);
        if (v.status) break;
      }
    }
    const answered = views.filter((v) => v.status);
    const pick = answered.find((v) => v.status!.isLeader) ?? answered[0];
    if (!pick) throw this.unreachable(views);
    return { primary: pick.primary, status: pick.status!, client: this.client(pick.primary.endpoint) };
  }

  /**
   * The member list from the first primary (in `order`, default spec order) that answers; linearizable by
   * default (the leader's view). Throws ClusterUnreachable when none answers.
   */
  async members(opts: { linearizable?: boolean; order?: readonly SessionPrimary[] } = {}): Promise<{ list: LiveMember[]; via: SessionPrimary }> {
    const errors: string[] = [];
    for (const p of opts.order ?? this.target.primaries) {
      try {
        return { list: await this.memberList(p.endpoint, opts.linearizable ?? true), via: p };
      } catch (err) {
        errors.push(`${p.endpoint}: ${errorText(err)}`);
      }
    }
    throw new ClusterUnreachable(`no member of ${this.cluster} answers (${errors.join('; ')})`);
  }

  /** The active alarms, asked through this client (default: a primary that answers), by member name. */
  async alarms(via?: Etcd3): Promise<(ActiveAlarm & { key: 'Nospace' | 'Corrupt' | 'None' })[]> {
    const c = via ?? (await this.anyPrimary()).client;
    const r = await c.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' });
    // The member list only to name them (most of the time there is no alarm to name).
    const list = r.alarms.length ? await c.cluster.memberList({ linearizable: false }) : { members: [] };
    return r.alarms.map((a) => ({
      memberId: a.memberID,
      member: list.members.find((m) => m.ID === a.memberID)?.name || hex(a.memberID),
      // etcd names them NOSPACE and CORRUPT; the client's enum keys are Nospace and Corrupt.
      alarm: String(a.alarm).toUpperCase(),
      key: a.alarm,
    }));
  }

  /** Closes every client this session made. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** One primary's status, or why it did not answer. */
  private async statusView(primary: SessionPrimary): Promise<PrimaryView> {
    try {
      return { primary, status: await this.status(primary.endpoint) };
    } catch (err) {
      return { primary, error: errorText(err) };
    }
  }

  private unreachable(views: PrimaryView[]): ClusterUnreachable {
    const details = views.map((v) => `${v.primary.name}: ${v.error}`).join('; ');
    return new ClusterUnreachable(`no primary of ${this.cluster} answers (${details})`, details);
  }
}

/** Runs `fn` with a session on this target, and closes it whatever happens. */
export async function withSession<T>(target: SessionTarget, opts: SessionOptions, fn: (s: ClusterSession) => Promise<T>): Promise<T> {
  const s = new ClusterSession(target, opts);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}
