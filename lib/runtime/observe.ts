/**
 * The verifier's eyes: asks a live cluster what the judge (judge.ts) needs, and returns it as plain data.
 * Primaries are asked directly, never through a proxy (a grpc-proxy's member list is synthetic and can be
 * stale). Secondaries are checked by their registration under the cluster prefix and by a read through
 * their published port.
 */
import { randomBytes } from 'node:crypto';
import { bulkhead } from 'cockatiel';
import type { Etcd3 } from 'etcd3';
import type { Expectation } from '../contract';
import { observeCertificates } from './certificates';
import { errorText } from './etcd-client';
import { consensusOf, type Observation, type PrimaryObservation, type ReadObservation } from './judge';
import { withSession, type SessionOptions } from './session';

/** The root password and the deadline of each call (2 s unless said). */
export type ObserveOptions = SessionOptions;

/**
 * How many secondaries are read through at once. Each read is a connection and a Range through a
 * grpc-proxy; hundreds at once on a small machine made every one of them miss its deadline (3+200 on two
 * cores: 147 of 200 "no answer before the deadline", all running). A deadline counts from a read's start.
 */
export const SECONDARY_READS_AT_ONCE = 16;

const read = async (c: Etcd3, key: string): Promise<ReadObservation> => {
  try {
    return { value: (await c.get(key).string()) ?? undefined };
  } catch (err) {
    return { error: errorText(err) };
  }
};

/** The backup container's last report of what reached the store (`etcd-backup position`), or why there is none. */
async function storePosition(e: Expectation): Promise<Observation['store']> {
  try {
    const { execIn } = await import('./docker');
    const r = await execIn(e.backup!.container, ['/usr/local/bin/etcd-backup', 'position', '--dir=/backups'], e.backup!.docker);
    if (r.exitCode !== 0) return { error: (r.stderr || r.stdout).trim().split('\n')[0] };
    const p = JSON.parse(r.stdout) as { revision?: number; at?: string; behindSince?: string; error?: string };
    if (!p.at) return { error: 'it has not reported yet' };
    return {
      position: { revision: p.revision ?? 0, at: p.at, ...(p.behindSince ? { behindSince: p.behindSince } : {}), ...(p.error ? { error: p.error } : {}) },
    };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] };
  }
}

/** One look at the live cluster: every question asked once, no retries, no judgement. */
export async function observe(e: Expectation, opts: ObserveOptions = {}): Promise<Observation> {
  return withSession(e.target, opts, async (session) => {
    const endpointOf = (name: string) => session.primary(name)!.endpoint;
    // 1. Every primary, directly: its status and its member list; meanwhile the certificates, from their
    //    files and as each member serves its own.
    const certificatesSeen = observeCertificates(e, opts.callTimeoutMs);
    const storeSeen = e.backup?.store ? storePosition(e) : Promise.resolve(undefined);
    const primaries = (await session.survey()).map((v): PrimaryObservation =>
      v.status && v.members
        ? {
            name: v.primary.name,
            answer: {
              clusterId: v.status.clusterId,
              memberId: v.status.memberId,
              leader: v.status.leader,
              raftIndex: v.status.raftIndex,
              revision: v.status.revision,
              members: v.members,
            },
          }
        : { name: v.primary.name, error: v.error },
    );

    // 2. A linearizable write on a short lease through the leader (or any primary of the cluster).
    const { inCluster, leaderMember } = consensusOf(primaries);
    const writer = inCluster.find((p) => p.name === leaderMember?.name) ?? inCluster[0];
    if (!writer) return { primaries, secondaryReads: {}, certificates: await certificatesSeen, store: await storeSeen };
    const w = session.client(endpointOf(writer.name));
    const key = `${e.verifyPrefix}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const value = randomBytes(8).toString('hex');
    // A short lease: the probe key goes away by itself even if the revoke below never happens; long enough
    // for every read, the secondaries taking their turns.
    const rounds = Math.ceil(e.secondaries.length / SECONDARY_READS_AT_ONCE);
    const lease = w.lease(10 + Math.ceil((rounds * (opts.callTimeoutMs ?? 2000)) / 1000), { autoKeepAlive: false });
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
      const turns = bulkhead(SECONDARY_READS_AT_ONCE, Infinity);
      await Promise.all([
        ...inCluster.map(async (p) => (reads[p.name] = await read(session.client(endpointOf(p.name)), key))),
        ...e.secondaries.map((s) => turns.execute(async () => (secondaryReads[s.name] = await read(session.client(s.endpoint), key)))),
      ]);
      await lease.revoke().catch(() => undefined);
    };
    const alarmsOf = async (): Promise<Observation['alarms']> => {
      try {
        return { list: (await session.alarms(w)).map(({ memberId, alarm }) => ({ memberId, alarm })) };
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
    return {
      primaries,
      probe: { writer: writer.name, value, writeError, reads },
      registrations,
      secondaryReads,
      alarms,
      certificates: await certificatesSeen,
      store: await storeSeen,
    };
  });
}
