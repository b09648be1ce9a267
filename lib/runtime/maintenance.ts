/**
 * Keeping a long-running cluster writable: compaction, defragmentation one member at a time (followers
 * first, the leader last, the cluster checked healthy between; every member, or those etcd's rule picks),
 * etcd's way out of NOSPACE (`reclaim`), etcd's alarms (NOSPACE, CORRUPT), and the journal of the backup
 * container's scheduled defragmenter.
 */
import { ContractError, type Expectation } from '../contract';
import { errorText } from './etcd-client';
import { execIn } from './docker';
import { DockerHostError, MembershipError } from './errors';
import { retryUntil } from './retry';
import { hex, withSession, type ActiveAlarm, type ClusterSession, type MemberStatus, type PrimaryView, type SessionOptions } from './session';
import { decide, defragOrder, mib, overThreshold, reasonText, type SpaceRule } from './space';

export type { ActiveAlarm } from './session';

/** Maintenance calls wait longer than a verifier's look: 5 s each unless said. */
const options = (opts: SessionOptions): SessionOptions => ({ ...opts, callTimeoutMs: opts.callTimeoutMs ?? 5000 });

export interface DefragStep {
  readonly member: string;
  readonly role: 'follower' | 'leader';
  /** Why this member: the rule's reasons in words, `asked` (plain `defrag`) or `NOSPACE` (`reclaim`). */
  readonly reason: string;
  readonly beforeBytes: number;
  readonly afterBytes: number;
  readonly seconds: number;
}

export interface DefragOptions extends SessionOptions {
  /** How long a defragmented member (and every other voter) may take to be healthy again. */
  readonly timeoutMs: number;
  readonly onStep?: (line: string) => void;
  /** Only the members etcd's rule picks (the expectation's `space`); default: every member. */
  readonly ifNeeded?: boolean;
}

/** What `defragment` did, and what it left: members the rule passed over, members too full for it to help. */
export interface DefragOutcome {
  readonly steps: DefragStep[];
  /** Members whose data in use is itself over the rule's threshold: a person must delete keys or raise the quota. */
  readonly full: string[];
}

type Answered = PrimaryView & { status: MemberStatus };

/**
 * Every primary answers, none is a learner, and all agree on a leader that is one of them: the only state
 * in which a member may be defragmented (it blocks while it runs). Returns their views.
 */
async function healthyVoters(s: ClusterSession): Promise<Answered[]> {
  const all = await s.statusOfAll();
  const learner = all.find((v) => v.status.isLearner);
  if (learner) throw new MembershipError(`${learner.primary.name} is a learner: a membership change is under way; defragment once it is a voter`);
  const leaders = new Set(all.map((v) => v.status.leader));
  const leader = all.find((v) => v.status.isLeader);
  if (leaders.size !== 1 || !leader || leaders.has('0')) {
    throw new MembershipError(`the primaries do not agree on a leader (${all.map((v) => `${v.primary.name}: ${hex(v.status.leader)}`).join(', ')})`);
  }
  return all;
}

/** The expectation's rule, or why a command that needs it cannot run. */
function ruleOf(e: Expectation): SpaceRule {
  if (!e.space)
    throw new ContractError(
      `cluster ${e.target.cluster}: this stack was synthesized by a release that did not record etcd's defragmentation rule; run cdktf synth again`,
    );
  return e.space;
}

/**
 * Defragments the primaries (every one, or with `ifNeeded` those etcd's rule picks) one at a time:
 * followers first, the leader last. Before each, every primary must answer and agree on the leader, with no
 * learner; after each, they must again (within `timeoutMs`) before the next starts.
 */
export async function defragment(e: Expectation, opts: DefragOptions): Promise<DefragOutcome> {
  const rule = opts.ifNeeded ? ruleOf(e) : undefined;
  return withSession(e.target, options(opts), async (s) => {
    const first = await healthyVoters(s);
    const reasons = new Map<string, string>();
    const full: string[] = [];
    for (const v of first) {
      if (!rule) {
        reasons.set(v.primary.name, 'asked');
        continue;
      }
      const d = decide(rule, v.status.dbSize, v.status.dbSizeInUse);
      if (d.reasons.length) reasons.set(v.primary.name, reasonText(rule, v.status.dbSize, v.status.dbSizeInUse, d));
      if (d.full) full.push(`${v.primary.name} (${mib(v.status.dbSizeInUse)} in use of ${mib(v.status.dbSize)})`);
    }
    const todo = first.filter((v) => reasons.has(v.primary.name));
    return { steps: await defragInOrder(s, todo, reasons, opts), full };
  });
}

/** Defragments these members, followers first and the leader last, the cluster healthy before and after each. */
async function defragInOrder(s: ClusterSession, members: Answered[], reasons: Map<string, string>, opts: DefragOptions): Promise<DefragStep[]> {
  const steps: DefragStep[] = [];
  for (const v of defragOrder(members.map((m) => ({ view: m, name: m.primary.name, isLeader: m.status.isLeader })))) {
    const now = (await healthyVoters(s)).find((x) => x.primary.name === v.name)!;
    const role = v.isLeader ? 'leader' : 'follower';
    opts.onStep?.(`defragmenting ${v.name} (${role}, ${now.status.dbSize} bytes)`);
    const started = Date.now();
    await s.client(v.view.primary.endpoint).maintenance.defragment();
    const after = await retryUntil(() => healthyVoters(s), { timeoutMs: opts.timeoutMs, retryError: () => true });
    const afterBytes = after.find((x) => x.primary.name === v.name)!.status.dbSize;
    steps.push({
      member: v.name,
      role,
      reason: reasons.get(v.name)!,
      beforeBytes: now.status.dbSize,
      afterBytes,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    });
  }
  return steps;
}

export interface ReclaimOutcome {
  readonly cluster: string;
  /** `done`: there is room again and NOSPACE is disarmed; `not disarmed`: the data itself is over the threshold. */
  readonly result: 'done' | 'not disarmed';
  readonly message: string;
  readonly compactedTo: string;
  readonly steps: DefragStep[];
  readonly disarmed: ActiveAlarm[];
}

/**
 * etcd's way out of NOSPACE: compact up to the current revision, defragment every primary (followers first,
 * the leader last, the cluster healthy between), then disarm NOSPACE, but only once every database is back
 * under the rule's threshold: when the data itself fills the quota, disarming would only raise the alarm
 * again, and a person must delete keys (etcd allows deletes under NOSPACE) or raise the quota. CORRUPT is
 * never disarmed here (replace the member).
 */
export async function reclaim(e: Expectation, opts: DefragOptions): Promise<ReclaimOutcome> {
  const rule = ruleOf(e);
  return withSession(e.target, options(opts), async (s) => {
    const voters = await healthyVoters(s);
    const leader = voters.find((v) => v.status.isLeader)!;
    const nospace = (await s.alarms(s.client(leader.primary.endpoint))).filter((a) => a.alarm === 'NOSPACE');
    opts.onStep?.(`compacting up to revision ${leader.status.revision}`);
    try {
      await s.client(leader.primary.endpoint).kv.compact({ revision: leader.status.revision, physical: true });
    } catch (err) {
      // Compacted up to there already (by auto-compaction or an earlier run): nothing left to compact.
      if (!/required revision has been compacted/.test(errorText(err))) throw err;
    }
    const reasons = new Map(voters.map((v) => [v.primary.name, 'NOSPACE: every member'] as const));
    const steps = await defragInOrder(s, voters, reasons, opts);
    const over = steps.filter((st) => overThreshold(rule, st.afterBytes));
    const base = { cluster: e.target.cluster, compactedTo: leader.status.revision, steps };
    const alarmText = nospace.length ? `NOSPACE alarm on ${nospace.map((a) => a.member).join(', ')}` : 'no NOSPACE alarm';
    if (over.length) {
      return {
        ...base,
        result: 'not disarmed',
        disarmed: [],
        message:
          `${alarmText}; compacted and defragmented, but the data itself is over ${rule.quotaPercent}% of the quota ${mib(rule.quotaBytes)}: ` +
          `${over.map((st) => `${st.member} ${mib(st.afterBytes)}`).join(', ')}; delete keys (deletes are allowed under NOSPACE) or raise etcd.quotaBackendBytes, then run reclaim again`,
      };
    }
    const client = s.client(leader.primary.endpoint);
    for (const a of nospace) await client.maintenance.alarm({ action: 'Deactivate', memberID: a.memberId, alarm: a.key });
    return {
      ...base,
      result: 'done',
      disarmed: nospace.map(({ member, memberId, alarm }) => ({ member, memberId, alarm })),
      message: `${alarmText}; compacted up to revision ${leader.status.revision}, defragmented every member${nospace.length ? ', disarmed' : ''}`,
    };
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

/** One run of the backup container's scheduled defragmenter, as its journal keeps it (tools/etcd-backup/defrag.go). */
export interface MaintenanceRun {
  readonly time: string;
  /** `defrag` (the rule), `reclaim` (NOSPACE), `check` (a look that found what needs a person). */
  readonly run: string;
  /** `done`, `skipped`, `stopped`, `not disarmed`, `needs a person`. */
  readonly result: string;
  readonly message?: string;
  readonly compactedTo?: number;
  readonly disarmed?: string[];
  readonly steps: DefragStep[];
}

/** The runs of the backup container's defragmenter, oldest first. */
export async function maintenanceLog(e: Expectation): Promise<MaintenanceRun[]> {
  if (!e.backup) {
    throw new DockerHostError(`cluster ${e.target.cluster} has no backup container, where the scheduled defragmenter runs (add backup to its spec)`);
  }
  const r = await execIn(e.backup.container, ['/usr/local/bin/etcd-backup', 'log', '--dir=/backups'], e.backup.docker);
  if (r.exitCode !== 0) {
    const said = (r.stderr || r.stdout).trim().split('\n')[0];
    if (/unknown command "log"/.test(said)) {
      throw new DockerHostError(
        `${e.backup.container}: its image predates the defragmenter (etcd-backup has no log); build the current one (bash scripts/backup-image.sh) and deploy again`,
      );
    }
    throw new DockerHostError(`${e.backup.container}: etcd-backup log failed: ${said}`);
  }
  return JSON.parse(r.stdout) as MaintenanceRun[];
}
