/**
 * Keeping a long-running cluster writable: compaction, defragmentation one member at a time (followers
 * first, the leader last, the cluster checked healthy between), and etcd's alarms (NOSPACE, CORRUPT).
 */
import type { Etcd3 } from 'etcd3';
import type { Expectation } from '../contract';
import { ClusterUnreachable, MembershipError } from './errors';
import { connect, errorText } from './etcd-client';
import { hex } from './judge';
import { connectOptions, type ObserveOptions } from './observe';
import { retryUntil } from './retry';

/** One client per primary, closed together. */
class Primaries {
  private readonly clients = new Map<string, Etcd3>();
  constructor(
    private readonly e: Expectation,
    private readonly opts: ObserveOptions,
  ) {}

  client(endpoint: string): Etcd3 {
    let c = this.clients.get(endpoint);
    if (!c) this.clients.set(endpoint, (c = connect(endpoint, { ...connectOptions(this.e, this.opts), timeoutMs: this.opts.callTimeoutMs ?? 5000 })));
    return c;
  }

  /** Every primary's status; throws with the names of those that do not answer. */
  async statuses() {
    const all = await Promise.all(
      this.e.primaries.map(async (p) => {
        try {
          const s = await this.client(p.endpoint).maintenance.status();
          return { p, id: s.header.member_id, leader: s.leader, revision: s.header.revision, dbSize: Number(s.dbSize) };
        } catch (err) {
          return { p, error: errorText(err) };
        }
      }),
    );
    const down = all.filter((s) => 'error' in s);
    if (down.length === all.length)
      throw new ClusterUnreachable(`no primary of ${this.e.cluster} answers (${down.map((s) => `${s.p.name}: ${s.error}`).join('; ')})`);
    if (down.length) throw new MembershipError(`primary ${down.map((s) => s.p.name).join(', ')} does not answer (${down.map((s) => s.error).join('; ')})`);
    return all as { p: Expectation['primaries'][number]; id: string; leader: string; revision: string; dbSize: number }[];
  }

  /** The client of a primary that answers. */
  async any(): Promise<Etcd3> {
    for (const p of this.e.primaries) {
      try {
        await this.client(p.endpoint).maintenance.status();
        return this.client(p.endpoint);
      } catch {
        // the next one
      }
    }
    throw new ClusterUnreachable(`no primary of ${this.e.cluster} answers`);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

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
export async function defragment(e: Expectation, opts: ObserveOptions & { timeoutMs: number; onStep?: (line: string) => void }): Promise<DefragStep[]> {
  const ps = new Primaries(e, opts);
  try {
    const first = await ps.statuses();
    const leader = first.find((s) => s.id === s.leader);
    const order = [...first.filter((s) => s !== leader), ...(leader ? [leader] : [])];
    const steps: DefragStep[] = [];
    for (const s of order) {
      await ps.statuses();
      const role = s === leader ? 'leader' : 'follower';
      opts.onStep?.(`defragmenting ${s.p.name} (${role}, ${s.dbSize} bytes)`);
      await ps.client(s.p.endpoint).maintenance.defragment();
      const after = await retryUntil(() => ps.statuses(), { timeoutMs: opts.timeoutMs, retryError: () => true });
      const afterBytes = after.find((x) => x.p.name === s.p.name)!.dbSize;
      steps.push({ member: s.p.name, role, beforeBytes: s.dbSize, afterBytes });
    }
    return steps;
  } finally {
    ps.close();
  }
}

/** Compacts the key-value history up to the current revision (physically), as auto-compaction would. */
export async function compact(e: Expectation, opts: ObserveOptions): Promise<string> {
  const ps = new Primaries(e, opts);
  try {
    const c = await ps.any();
    const revision = (await c.maintenance.status()).header.revision;
    await c.kv.compact({ revision, physical: true });
    return revision;
  } finally {
    ps.close();
  }
}

export interface ActiveAlarm {
  readonly member: string;
  readonly memberId: string;
  readonly alarm: string;
}

/** The active alarms, by member name. */
export async function alarms(e: Expectation, opts: ObserveOptions): Promise<ActiveAlarm[]> {
  const ps = new Primaries(e, opts);
  try {
    return (await listAlarms(await ps.any())).map(({ member, memberId, alarm }) => ({ member, memberId, alarm }));
  } finally {
    ps.close();
  }
}

async function listAlarms(c: Etcd3): Promise<(ActiveAlarm & { key: 'Nospace' | 'Corrupt' | 'None' })[]> {
  const [r, list] = await Promise.all([c.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' }), c.cluster.memberList({ linearizable: false })]);
  return r.alarms.map((a) => ({
    memberId: a.memberID,
    member: list.members.find((m) => m.ID === a.memberID)?.name || hex(a.memberID)!,
    // etcd names them NOSPACE and CORRUPT; the client's enum keys are Nospace and Corrupt.
    alarm: String(a.alarm).toUpperCase(),
    key: a.alarm,
  }));
}

/** Deactivates every active alarm; returns those it deactivated. */
export async function disarm(e: Expectation, opts: ObserveOptions): Promise<ActiveAlarm[]> {
  const ps = new Primaries(e, opts);
  try {
    const c = await ps.any();
    const active = await listAlarms(c);
    for (const a of active) await c.maintenance.alarm({ action: 'Deactivate', memberID: a.memberId, alarm: a.key });
    return active.map(({ member, memberId, alarm }) => ({ member, memberId, alarm }));
  } finally {
    ps.close();
  }
}
