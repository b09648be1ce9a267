/**
 * Keeping a long-running cluster writable: compaction, defragmentation one member at a time (followers
 * first, the leader last, the cluster checked healthy between), and etcd's alarms (NOSPACE, CORRUPT).
 */
import type { Expectation } from '../contract';
import { retryUntil } from './retry';
import { withSession, type ActiveAlarm, type SessionOptions } from './session';

export type { ActiveAlarm } from './session';

/** Maintenance calls wait longer than a verifier's look: 5 s each unless said. */
const options = (opts: SessionOptions): SessionOptions => ({ ...opts, callTimeoutMs: opts.callTimeoutMs ?? 5000 });

export interface DefragStep {
  readonly member: string;
  readonly role: 'follower' | 'leader';
  readonly beforeBytes: number;
  readonly afterBytes: number;
}

/**
 * Defragments every primary, one at a time: followers first, the leader last; before each, every primary
 * must answer, and after each the member must answer again (within `timeoutMs`) before the next starts.
 */
export async function defragment(e: Expectation, opts: SessionOptions & { timeoutMs: number; onStep?: (line: string) => void }): Promise<DefragStep[]> {
  return withSession(e.target, options(opts), async (s) => {
    const first = await s.statusOfAll();
    const leader = first.find((v) => v.status.isLeader);
    const order = [...first.filter((v) => v !== leader), ...(leader ? [leader] : [])];
    const steps: DefragStep[] = [];
    for (const v of order) {
      await s.statusOfAll();
      const role = v === leader ? 'leader' : 'follower';
      opts.onStep?.(`defragmenting ${v.primary.name} (${role}, ${v.status.dbSize} bytes)`);
      await s.client(v.primary.endpoint).maintenance.defragment();
      const after = await retryUntil(() => s.statusOfAll(), { timeoutMs: opts.timeoutMs, retryError: () => true });
      const afterBytes = after.find((x) => x.primary.name === v.primary.name)!.status.dbSize;
      steps.push({ member: v.primary.name, role, beforeBytes: v.status.dbSize, afterBytes });
    }
    return steps;
  });
}

/** Compacts the key-value history up to the current revision (physically), as auto-compaction would. */
export async function compact(e: Expectation, opts: SessionOptions): Promise<string> {
  return withSession(e.target, options(opts), async (s) => {
    const { client, status } = await s.anyPrimary();
    await client.kv.compact({ revision: status.revision, physical: true });
    return status.revision;
  });
}

/** The active alarms, by member name. */
export async function alarms(e: Expectation, opts: SessionOptions): Promise<ActiveAlarm[]> {
  return withSession(e.target, options(opts), async (s) => (await s.alarms()).map(({ member, memberId, alarm }) => ({ member, memberId, alarm })));
}

/** Deactivates every active alarm; returns those it deactivated. */
export async function disarm(e: Expectation, opts: SessionOptions): Promise<ActiveAlarm[]> {
  return withSession(e.target, options(opts), async (s) => {
    const { client } = await s.anyPrimary();
    const active = await s.alarms(client);
    for (const a of active) await client.maintenance.alarm({ action: 'Deactivate', memberID: a.memberId, alarm: a.key });
    return active.map(({ member, memberId, alarm }) => ({ member, memberId, alarm }));
  });
}
