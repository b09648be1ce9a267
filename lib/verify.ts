/**
 * The verifier: compares a live cluster with its expectation through etcd itself.
 *
 * Primaries are asked directly, never through a proxy (a grpc-proxy's member list is synthetic and can be
 * stale). Secondaries are checked by their registration under the cluster prefix and by a read through
 * their published port.
 */
import { randomBytes } from 'node:crypto';
import { type Etcd3, EtcdRoleExistsError, EtcdUserExistsError } from 'etcd3';
import { connect, type ConnectOptions } from './etcd-client';
import type { Expectation } from './topology';

export type MemberState =
  | 'leader'
  | 'follower'
  | 'learner'
  | 'unreachable'
  | 'missing'
  | 'foreign'
  | 'registered'
  | 'serving'
  | 'unregistered'
  | 'unknown'
  | 'extra';

export interface MemberReport {
  readonly name: string;
  readonly role: 'primary' | 'secondary';
  readonly state: MemberState;
  /** etcd member ID (hex), for primaries that are members. */
  readonly id?: string;
  /** Where the host reaches it. */
  readonly endpoint?: string;
  readonly clientUrl?: string;
  readonly peerUrl?: string;
  /** Seconds left on a secondary's registration lease. */
  readonly ttlSeconds?: number;
  /** etcd's raft index as this primary reported it. */
  readonly raftIndex?: string;
}

export interface Problem {
  /** The member (or `cluster`) the problem is about. */
  readonly subject: string;
  readonly message: string;
}

export interface Report {
  readonly cluster: string;
  readonly ok: boolean;
  readonly clusterId?: string;
  readonly leader?: string;
  readonly members: MemberReport[];
  readonly problems: Problem[];
  readonly attempts: number;
  readonly elapsedMs: number;
}

export interface InspectOptions {
  /** Deadline of each etcd call, in milliseconds. @default 2000 */
  readonly callTimeoutMs?: number;
  /** The root password, for a cluster with `auth`. */
  readonly password?: string;
}

export interface VerifyOptions extends InspectOptions {
  /** Give up after this many milliseconds. @default 60000 */
  readonly timeoutMs?: number;
  /** Called after every failed attempt that will be retried. */
  readonly onProgress?: (report: Report) => void;
}

const hex = (id: string | undefined) => (id ? BigInt(id).toString(16) : undefined);
/** grpc wraps the cause in boilerplate ("14 UNAVAILABLE: No connection established. Last error: ..."). */
const errorText = (e: unknown) => {
  const msg = ((e as Error)?.message ?? String(e)).replace(/\s+/g, ' ');
  if (/DEADLINE_EXCEEDED/.test(msg)) return 'no answer before the deadline';
  const cause = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(msg);
  return (cause ? cause[1] : msg).slice(0, 200);
};

/** Connection options for this cluster: its TLS material and, with `auth` (unless `login` is false), the root login. */
function connectOptions(e: Expectation, opts: InspectOptions, login = true): ConnectOptions {
  if (e.auth && login && opts.password === undefined) throw new Error(`the root password is needed: set ${e.auth.passwordEnv}`);
  return {
    timeoutMs: opts.callTimeoutMs,
    tls: e.tls,
    ...(e.auth && login ? { auth: { username: e.auth.user, password: opts.password! } } : {}),
  };
}

/**
 * Turns etcd RBAC on, once: creates the root role and user (with the given password) and enables auth.
 * Does nothing when root can already log in. Retries until the cluster answers or the timeout passes.
 */
export async function enableAuth(e: Expectation, opts: VerifyOptions & { password: string }): Promise<'enabled' | 'already enabled'> {
  const until = Date.now() + (opts.timeoutMs ?? 60_000);
  let delay = 50;
  for (;;) {
    const endpoint = e.primaries[Math.floor(Math.random() * e.primaries.length)].endpoint;
    const authed = connect(endpoint, connectOptions(e, opts));
    const plain = connect(endpoint, connectOptions(e, opts, false));
    try {
      try {
        await authed.get(`${e.verifyPrefix}auth-check`).string();
        return 'already enabled';
      } catch (err) {
        if (!/authentication is not enabled/.test(errorText(err))) throw err;
      }
      await plain.role('root').create().catch((err) => {
        if (!(err instanceof EtcdRoleExistsError)) throw err;
      });
      await plain.user('root').create(opts.password).catch((err) => {
        if (!(err instanceof EtcdUserExistsError)) throw err;
      });
      await plain.user('root').addRole('root');
      await plain.auth.authEnable();
      return 'enabled';
    } catch (err) {
      // A wrong password is final; anything else (not up yet, no leader) is worth another try.
      if (/authentication failed|invalid user ID or password/.test(errorText(err))) throw new Error(`auth: root cannot log in: ${errorText(err)}`);
      if (Date.now() + delay >= until) throw new Error(`auth: could not enable authentication: ${errorText(err)}`);
    } finally {
      authed.close();
      plain.close();
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
}

interface PrimaryView {
  readonly clusterId: string;
  readonly memberId: string;
  readonly leader: string;
  readonly raftIndex: string;
  readonly members: { ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }[];
}

/** One look at the live cluster, no retries. */
export async function inspectCluster(e: Expectation, opts: InspectOptions = {}): Promise<Omit<Report, 'attempts' | 'elapsedMs'>> {
  const problems: Problem[] = [];
  const problem = (subject: string, message: string) => problems.push({ subject, message });
  const clients = new Map<string, Etcd3>();
  const options = connectOptions(e, opts);
  const clientFor = (endpoint: string) => {
    let c = clients.get(endpoint);
    if (!c) clients.set(endpoint, (c = connect(endpoint, options)));
    return c;
  };

  try {
    // 1. Every primary, directly.
    const views = await Promise.all(
      e.primaries.map(async (p): Promise<PrimaryView | Error> => {
        try {
          const c = clientFor(p.endpoint);
          const [status, list] = await Promise.all([c.maintenance.status(), c.cluster.memberList({ linearizable: false })]);
          return {
            clusterId: status.header.cluster_id,
            memberId: status.header.member_id,
            leader: status.leader,
            raftIndex: status.raftIndex,
            members: list.members.map((m) => ({ ID: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: !!m.isLearner })),
          };
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    );

    // The cluster is what most reachable primaries agree on.
    const counts = new Map<string, number>();
    for (const v of views) if (!(v instanceof Error)) counts.set(v.clusterId, (counts.get(v.clusterId) ?? 0) + 1);
    const clusterId = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const inCluster = views.filter((v): v is PrimaryView => !(v instanceof Error) && v.clusterId === clusterId);
    // Prefer the view of a member that knows a leader, and whose list the others share.
    const reference = inCluster.find((v) => v.leader !== '0') ?? inCluster[0];
    const live = reference?.members ?? [];
    const leaders = new Set(inCluster.map((v) => v.leader));
    const leaderMember = reference && live.find((m) => m.ID === reference.leader);

    const members: MemberReport[] = [];
    const matched = new Set<string>();
    e.primaries.forEach((p, k) => {
      const view = views[k];
      const m = live.find((x) => x.name === p.name) ?? live.find((x) => x.peerURLs.includes(p.peerUrl));
      if (m) matched.add(m.ID);
      let state: MemberState;
      if (view instanceof Error) {
        state = 'unreachable';
        problem(p.name, `unreachable at ${p.endpoint}: ${errorText(view)}`);
      } else if (view.clusterId !== clusterId) {
        state = 'foreign';
        problem(p.name, `belongs to cluster ${hex(view.clusterId)}, not ${hex(clusterId)} (started with another --initial-cluster-token or --initial-cluster?)`);
      } else if (!m) {
        state = 'missing';
        problem(p.name, 'is not a member of the cluster');
      } else if (m.isLearner) {
        state = 'learner';
        problem(p.name, 'is a learner, not a voting member');
      } else state = m.ID === reference?.leader ? 'leader' : 'follower';

      // A member that never published its client URLs never joined: etcd bootstraps names from
      // --initial-cluster, but a node started with another token (or another --initial-cluster) stays out.
      const neverJoined = m !== undefined && m.clientURLs.length === 0;
      if (m && neverJoined && !m.name) problem(p.name, 'was added as a member but never started');
      else if (m && neverJoined) {
        problem(p.name, 'is listed but has never joined (no client URL published): was it started with another --initial-cluster-token or --initial-cluster, or can it not reach its peers?');
      }
      if (m && (m.peerURLs.length !== 1 || m.peerURLs[0] !== p.peerUrl)) {
        problem(p.name, `has peer URL ${m.peerURLs.join(',') || 'none'}, declared ${p.peerUrl}`);
      }
      if (m && !neverJoined && (m.clientURLs.length !== 1 || m.clientURLs[0] !== p.clientUrl)) {
        problem(p.name, `has client URL ${m.clientURLs.join(',') || 'none'}, declared ${p.clientUrl}`);
      }
      if (!(view instanceof Error) && m && view.clusterId === clusterId && view.memberId !== m.ID) {
        problem(p.name, `answers as member ${hex(view.memberId)}, but the member list has ${hex(m.ID)} under its name`);
      }
      members.push({
        name: p.name,
        role: 'primary',
        state,
        id: m ? hex(m.ID) : undefined,
        endpoint: p.endpoint,
        clientUrl: m?.clientURLs[0] ?? p.clientUrl,
        peerUrl: m?.peerURLs[0] ?? p.peerUrl,
        raftIndex: view instanceof Error ? undefined : view.raftIndex,
      });
    });

    for (const m of live.filter((x) => !matched.has(x.ID))) {
      const label = m.name || `(unstarted ${hex(m.ID)})`;
      problem(label, `is an extra member (peer URLs ${m.peerURLs.join(',')}) that the spec does not declare`);
      members.push({ name: label, role: 'primary', state: 'extra', id: hex(m.ID), peerUrl: m.peerURLs[0], clientUrl: m.clientURLs[0] });
    }
    if (inCluster.length && (leaders.size > 1 || leaders.has('0'))) {
      problem('cluster', leaders.has('0') && leaders.size === 1 ? 'has no leader' : 'primaries disagree on the leader');
    } else if (reference && !leaderMember) {
      problem('cluster', `leader ${hex(reference.leader)} is not in the member list`);
    }
    for (const v of inCluster) {
      const ids = (x: PrimaryView) => x.members.map((m) => `${m.ID}=${m.peerURLs.join(',')}`).sort().join(' ');
      if (reference && ids(v) !== ids(reference)) {
        problem('cluster', 'primaries report different member lists');
        break;
      }
    }

    // 2. A linearizable write and read, on a short lease, through a healthy primary; read back everywhere.
    const healthy = e.primaries.filter((_, k) => {
      const v = views[k];
      return !(v instanceof Error) && v.clusterId === clusterId;
    });
    const probeKey = `${e.verifyPrefix}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const probeValue = randomBytes(8).toString('hex');
    let written = false;
    const writer = healthy.find((p) => p.name === leaderMember?.name) ?? healthy[0];
    // A short lease: the probe key goes away by itself even if the revoke below never happens.
    const lease = writer && clientFor(writer.endpoint).lease(10, { autoKeepAlive: false });
    if (writer && lease) {
      try {
        await lease.put(probeKey).value(probeValue).exec();
        written = true;
      } catch (err) {
        problem('cluster', `a write through ${writer.name} failed: ${errorText(err)}`);
      }
      if (written) {
        await Promise.all(
          healthy.map(async (p) => {
            try {
              const got = await clientFor(p.endpoint).get(probeKey).string();
              if (got !== probeValue) problem(p.name, 'a linearizable read did not return the value just written');
            } catch (err) {
              problem(p.name, `a linearizable read failed: ${errorText(err)}`);
            }
          }),
        );
      }
    }

    // 3. Secondaries: registered under the prefix, and serving reads.
    let registrations: { key: string; lease: string }[] | undefined;
    if (writer) {
      try {
        const res = await clientFor(writer.endpoint).getAll().prefix(`${e.registryPrefix}/`).exec();
        registrations = res.kvs.map((kv) => ({ key: kv.key.toString(), lease: kv.lease }));
      } catch (err) {
        problem('cluster', `reading registrations under ${e.registryPrefix} failed: ${errorText(err)}`);
      }
    }
    const ttlOf = async (leaseId: string): Promise<number | undefined> => {
      if (!writer || leaseId === '0') return undefined;
      try {
        const r = await clientFor(writer.endpoint).leaseClient.leaseTimeToLive({ ID: leaseId, keys: false });
        return Number(r.TTL);
      } catch {
        return undefined;
      }
    };
    // Promise.all keeps the declared order of the secondaries.
    const secondaryReports = await Promise.all(
      e.secondaries.map(async (s): Promise<MemberReport> => {
        // A secondary that does not register (a custom client, or a proxy under RBAC) is judged by serving reads.
        let state: MemberState = !s.registrationKey ? 'serving' : registrations ? 'registered' : 'unknown';
        let ttlSeconds: number | undefined;
        if (s.registrationKey && registrations) {
          const reg = registrations.find((r) => r.key === s.registrationKey);
          if (!reg) {
            state = 'unregistered';
            problem(s.name, `is not registered under ${e.registryPrefix} (expected key ${s.registrationKey})`);
          } else ttlSeconds = await ttlOf(reg.lease);
        }
        if (written) {
          try {
            const got = await clientFor(s.endpoint).get(probeKey).string();
            if (got !== probeValue) problem(s.name, `a read through ${s.endpoint} did not return the value just written`);
          } catch (err) {
            if (state === 'registered' || state === 'serving') state = 'unreachable';
            problem(s.name, `does not serve reads at ${s.endpoint}: ${errorText(err)}`);
          }
        }
        return { name: s.name, role: 'secondary', state, endpoint: s.endpoint, ttlSeconds };
      }),
    );
    members.push(...secondaryReports);

    const declared = new Set(e.secondaries.map((s) => s.registrationKey));
    for (const r of registrations ?? []) {
      if (declared.has(r.key)) continue;
      const ttl = await ttlOf(r.lease);
      const name = r.key.slice(e.registryPrefix.length + 1);
      problem(name, `registration ${r.key} belongs to no declared secondary (stale${ttl !== undefined ? `, lapses in ${ttl}s` : ''})`);
      members.push({ name, role: 'secondary', state: 'extra', ttlSeconds: ttl });
    }

    if (written && lease) await lease.revoke().catch(() => undefined);
    return {
      cluster: e.cluster,
      ok: problems.length === 0,
      clusterId: hex(clusterId),
      leader: leaderMember?.name || undefined,
      members,
      problems,
    };
  } finally {
    for (const c of clients.values()) c.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Looks until the live cluster matches, or the timeout passes; the last look is the report. */
export async function verifyCluster(e: Expectation, opts: VerifyOptions = {}): Promise<Report> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = Date.now();
  let delay = 50;
  for (let attempts = 1; ; attempts++) {
    const look = await inspectCluster(e, opts);
    const report = { ...look, attempts, elapsedMs: Date.now() - started };
    if (report.ok || report.elapsedMs + delay >= timeoutMs) return report;
    opts.onProgress?.(report);
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
}
