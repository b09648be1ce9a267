/**
 * The verifier's eyes: asks a live cluster what the judge (judge.ts) needs, and returns it as plain data.
 * Primaries are asked directly, never through a proxy (a grpc-proxy's member list is synthetic and can be
 * stale). Secondaries are checked by their registration under the cluster prefix and by a read through
 * their published port.
 */
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { Expectation } from '../contract';
import { connect, errorText, type ConnectOptions } from './etcd-client';
import { consensusOf, type Observation, type PrimaryObservation, type ReadObservation } from './judge';

export interface ObserveOptions {
  /** Deadline of each etcd call, in milliseconds. @default 2000 */
  readonly callTimeoutMs?: number;
  /** The root password, for a cluster with `auth`. */
  readonly password?: string;
}

/** Connection options for this cluster: its TLS material and, with `auth` (unless `login` is false), the root login. */
export function connectOptions(e: Expectation, opts: ObserveOptions, login = true): ConnectOptions {
  if (e.auth && login && opts.password === undefined) throw new Error(`the root password is needed: set ${e.auth.passwordEnv}`);
  return {
    timeoutMs: opts.callTimeoutMs,
    tls: e.tls,
    ...(e.auth && login ? { auth: { username: e.auth.user, password: opts.password! } } : {}),
  };
}

const read = async (c: Etcd3, key: string): Promise<ReadObservation> => {
  try {
    return { value: (await c.get(key).string()) ?? undefined };
  } catch (err) {
    return { error: errorText(err) };
  }
};

/** One look at the live cluster: every question asked once, no retries, no judgement. */
export async function observe(e: Expectation, opts: ObserveOptions = {}): Promise<Observation> {
  const clients = new Map<string, Etcd3>();
  const options = connectOptions(e, opts);
  const clientFor = (endpoint: string) => {
    let c = clients.get(endpoint);
    if (!c) clients.set(endpoint, (c = connect(endpoint, options)));
    return c;
  };
  const endpointOf = (name: string) => e.primaries.find((p) => p.name === name)!.endpoint;

  try {
    // 1. Every primary, directly.
    const primaries = await Promise.all(
      e.primaries.map(async (p): Promise<PrimaryObservation> => {
        try {
          const c = clientFor(p.endpoint);
          const [status, list] = await Promise.all([c.maintenance.status(), c.cluster.memberList({ linearizable: false })]);
          return {
            name: p.name,
            answer: {
              clusterId: status.header.cluster_id,
              memberId: status.header.member_id,
              leader: status.leader,
              raftIndex: status.raftIndex,
              revision: status.header.revision,
              members: list.members.map((m) => ({ ID: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: !!m.isLearner })),
            },
          };
        } catch (err) {
          return { name: p.name, error: errorText(err) };
        }
      }),
    );

    // 2. A linearizable write on a short lease through the leader (or any primary of the cluster).
    const { inCluster, leaderMember } = consensusOf(primaries);
    const writer = inCluster.find((p) => p.name === leaderMember?.name) ?? inCluster[0];
    if (!writer) return { primaries, secondaryReads: {} };
    const w = clientFor(endpointOf(writer.name));
    const key = `${e.verifyPrefix}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const value = randomBytes(8).toString('hex');
    // A short lease: the probe key goes away by itself even if the revoke below never happens.
    const lease = w.lease(10, { autoKeepAlive: false });
    let writeError: string | undefined;
    try {
      await lease.put(key).value(value).exec();
    } catch (err) {
      writeError = errorText(err);
    }
    // 3. In parallel, once the probe is written: the probe read back through every primary and every
    //    secondary, the active alarms (a member over its quota raises NOSPACE), and the registrations under
    //    the prefix with what is left of their leases. Nothing here waits for anything else here.
    const reads: Record<string, ReadObservation> = {};
    const secondaryReads: Record<string, ReadObservation> = {};
    const readAll = async (): Promise<void> => {
      if (writeError !== undefined) return;
      await Promise.all([
        ...inCluster.map(async (p) => (reads[p.name] = await read(clientFor(endpointOf(p.name)), key))),
        ...e.secondaries.map(async (s) => (secondaryReads[s.name] = await read(clientFor(s.endpoint), key))),
      ]);
      await lease.revoke().catch(() => undefined);
    };
    const alarmsOf = async (): Promise<Observation['alarms']> => {
      try {
        const r = await w.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' });
        return { list: r.alarms.map((a) => ({ memberId: a.memberID, alarm: String(a.alarm).toUpperCase() })) };
      } catch (err) {
        return { error: errorText(err) };
      }
    };
    const registrationsOf = async (): Promise<Observation['registrations']> => {
      try {
        const res = await w.getAll().prefix(`${e.registryPrefix}/`).exec();
        const list = await Promise.all(
          res.kvs.map(async (kv) => {
            let ttlSeconds: number | undefined;
            if (kv.lease !== '0') {
              try {
                ttlSeconds = Number((await w.leaseClient.leaseTimeToLive({ ID: kv.lease, keys: false })).TTL);
              } catch {
                ttlSeconds = undefined;
              }
            }
            return { key: kv.key.toString(), ttlSeconds };
          }),
        );
        return { list };
      } catch (err) {
        return { error: errorText(err) };
      }
    };
    const [, alarms, registrations] = await Promise.all([readAll(), alarmsOf(), registrationsOf()]);
    return { primaries, probe: { writer: writer.name, value, writeError, reads }, registrations, secondaryReads, alarms };
  } finally {
    for (const c of clients.values()) c.close();
  }
}
