/**
 * `etcd-cluster rollout`: a change to every primary's container (a new etcd version, a flag, a limit)
 * applied one member at a time, as etcd's upgrade guide and every operator of etcd do it. Terraform alone
 * replaces all primaries in one apply (in parallel, with no ordering against the new ones), which takes the
 * cluster down; so the rollout plans the whole stack, then applies each changed primary's container on its
 * own (`terraform apply -target`), followers first and the leader last, and waits until that member answers
 * and has caught up with the leader before the next. At most one voter is down at any moment. Last, one
 * full apply does the rest (secondaries, hooks, the verify hook).
 *
 * It refuses what is unsafe before touching anything: a voter that does not answer, a learner pending, and
 * an etcd version change off etcd's documented path (upgrade-path.ts: a downgrade, more than one minor
 * release, a minor release from below that hop's floor); before etcd 3.5 -> 3.6 it runs `etcdutl check
 * v2store` on every primary's data (v2store.ts) and refuses custom v2 data, with etcd's reason. Then it
 * shows what the plan changes and the order of the members, and asks (`confirm`) before the first apply.
 * A member that does not come back in time
 * stops the rollout (the others untouched, on the old version); the stop is recorded in the stack
 * directory, and running it again after a fix continues: that member may then be the one down.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Expectation } from '../contract';
import { SynthesizedStack } from '../contract/stack';
import { DockerEngine } from './docker';
import { ClusterUnreachable, MembershipError, NotConfirmed } from './errors';
import { hex } from './live';
import { retryUntil } from './retry';
import { withSession, type SessionOptions } from './session';
import { TerraformDriver } from './terraform';
import { compareVersions, formatVersion, needsV2StoreCheck, parseVersion, upgradeProblem, type Version } from './upgrade-path';
import { checkV2Store, v2StoreProblem } from './v2store';

/** A stopped rollout, recorded in the stack directory. */
const STATE_FILE = '.etcd-cluster-rollout.json';

export interface RolloutStep {
  readonly member: string;
  readonly role: 'follower' | 'leader' | 'down';
  readonly address: string;
  readonly action: 'replace' | 'update';
  readonly seconds: number;
}

export interface RolloutResult {
  readonly cluster: string;
  readonly from?: string;
  readonly to?: string;
  readonly steps: RolloutStep[];
}

/** What a rollout will change, shown before it asks. */
export interface RolloutPlan {
  readonly cluster: string;
  readonly dir: string;
  /** Every resource the plan changes, in the plan's order. */
  readonly changes: readonly { readonly address: string; readonly action: PlannedAction }[];
  /** The primaries rolled one at a time, in the order they go now (a member left down first, the leader last). */
  readonly order: readonly { readonly member: string; readonly role: RolloutStep['role'] }[];
}

/** What Terraform does to a resource: `forget` removes it from the state and leaves it (a `removed` block). */
export type PlannedAction = 'replace' | 'update' | 'create' | 'destroy' | 'forget';

export interface RolloutOptions extends SessionOptions {
  /** The stack directory Terraform runs in (cdk.tf.json). */
  readonly dir: string;
  /** How long one member may take to answer again and catch up, in milliseconds. */
  readonly memberTimeoutMs: number;
  readonly say: (line: string) => void;
  /** Shown the plan once it is safe to go on; nothing is applied unless it returns true. Absent: no question. */
  readonly confirm?: (plan: RolloutPlan) => Promise<boolean>;
  /** Skip `etcdutl check v2store` before 3.5 -> 3.6 (for images without etcdutl, checked by hand). */
  readonly skipV2StoreCheck?: boolean;
}

interface Change {
  readonly address: string;
  readonly name: string;
  readonly action: 'replace' | 'update';
}

export interface VersionCheck {
  /** The lowest etcd version the live primaries run. */
  readonly from?: string;
  /** The version the primaries' image names (the target's), when its tag names one. */
  readonly to?: string;
  /** Why the rollout must not go on. */
  readonly problem?: string;
  /** What was not checked, and why. */
  readonly note?: string;
}

/**
 * The upgrade path of a rollout: from the lowest version the live primaries run to the version of the
 * primaries' image (the target's, decided by the model; the secondaries' images are not etcd's).
 */
export function versionCheck(target: Expectation['target'], liveVersions: string[]): VersionCheck {
  const from = liveVersions
    .map(parseVersion)
    .filter((v): v is Version => v !== undefined)
    .sort(compareVersions)
    .map(formatVersion)[0];
  const to = target.image?.version ?? undefined;
  if (from && to) return { from, to, problem: upgradeProblem({ cluster: target.cluster, from, to, auth: Boolean(target.auth) }) };
  if (from && !to)
    return { from, note: `the primaries' image (${target.image?.ref ?? 'not recorded in this stack'}) names no etcd version; the upgrade path is not checked` };
  return { ...(to ? { to } : {}) };
}

export async function rollout(e: Expectation, opts: RolloutOptions): Promise<RolloutResult> {
  const { dir, say } = opts;
  SynthesizedStack.read(dir); // one line when there is no stack to apply
  const statePath = join(dir, STATE_FILE);
  const resumed = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as { stoppedAt?: string }) : {};

  const tf = new TerraformDriver(dir);
  await tf.init({ say });
  say('planning the whole stack');
  const planFile = join(dir, '.etcd-cluster-rollout.tfplan');
  try {
    await tf.plan([`-out=${planFile}`]);
    const planned = await tf.showJson<PlanJson>(planFile);
    const changes = primaryChanges(e, planned);

    // Safety first: the live cluster as it is now.
    const live = await primaryStates(e, opts);
    const down = live.filter((m) => m.down);
    const learners = live.filter((m) => m.learner);
    if (learners.length)
      throw new MembershipError(`refusing to roll out: learner ${learners.map((m) => m.name).join(', ')} is pending; promote or remove it first`);
    const changing = new Set(changes.map((c) => c.name));
    const allowedDown = resumed.stoppedAt && changing.has(resumed.stoppedAt) ? [resumed.stoppedAt] : [];
    const blocking = down.filter((m) => !allowedDown.includes(m.name));
    if (blocking.length) {
      throw new MembershipError(
        `refusing to roll out: voter ${blocking.map((m) => m.name).join(', ')} does not answer (${blocking.map((m) => m.error).join('; ')}); start it first`,
      );
    }
    const check = versionCheck(
      e.target,
      live.flatMap((m) => (m.version ? [m.version] : [])),
    );
    if (changes.length && check.problem) throw new MembershipError(check.problem);
    if (changes.length && check.note) say(check.note);
    const { from, to } = check;
    if (changes.length && from && to && needsV2StoreCheck(from, to)) {
      if (opts.skipV2StoreCheck) say(`etcdutl check v2store skipped (--skip-v2store-check): etcd ${to} does not start on custom v2 data`);
      else {
        say(`checking every primary's data for custom v2 content (etcdutl check v2store, read-only), as etcd's 3.5 -> 3.6 guide asks`);
        const results = await checkV2Store(e.target.primaries.map((p) => ({ cluster: e.target.cluster, name: p.name, volume: p.volume, docker: p.docker })));
        for (const r of results) say(`${r.member}: ${r.verdict === 'clean' ? r.reason : `${r.verdict}: ${r.reason}`}`);
        const problem = v2StoreProblem(e.target.cluster, from, to, results);
        if (problem) throw new MembershipError(problem);
      }
    }

    const all = plannedChanges(planned);
    if (opts.confirm && all.length) {
      const leaderNow = live.find((m) => m.leader)?.name;
      const rankNow = (name: string) => (allowedDown.includes(name) ? 0 : name === leaderNow ? 2 : 1);
      const order = [...changes]
        .sort((a, b) => rankNow(a.name) - rankNow(b.name))
        .map((c) => ({
          member: c.name,
          role: allowedDown.includes(c.name) ? ('down' as const) : c.name === leaderNow ? ('leader' as const) : ('follower' as const),
        }));
      if (!(await opts.confirm({ cluster: e.target.cluster, dir, changes: all, order })))
        throw new NotConfirmed(`${e.target.cluster}: not confirmed; nothing changed`);
    }

    // A member left down by a stopped rollout first of all, then followers, the leader last (asked again
    // before each step: leadership may move while members restart).
    const remaining = [...changes];
    const steps: RolloutStep[] = [];
    if (!changes.length) say('no primary changes: nothing to roll, one apply does the rest');
    while (remaining.length) {
      const leader = (await primaryStates(e, opts)).find((m) => m.leader)?.name;
      const rank = (name: string) => (allowedDown.includes(name) ? 0 : name === leader ? 2 : 1);
      remaining.sort((a, b) => rank(a.name) - rank(b.name));
      const c = remaining.shift()!;
      const role = allowedDown.includes(c.name) ? 'down' : c.name === leader ? 'leader' : 'follower';
      const started = Date.now();
      say(`rolling ${c.name} (${role}): ${c.action} ${c.address}`);
      writeFileSync(statePath, JSON.stringify({ stoppedAt: c.name, at: new Date().toISOString() }));
      if (c.action === 'replace' && role !== 'down') await handOver(e, c.name, opts);
      await tf.apply([`-target=${c.address}`], undefined, `rollout stopped at ${c.name}: terraform apply failed; the other members are untouched`);
      await waitCaughtUp(e, c.name, opts);
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      steps.push({ member: c.name, role, address: c.address, action: c.action, seconds });
      say(`${c.name} is back and caught up (${seconds}s)`);
    }
    say('applying the rest of the stack');
    await tf.apply([], undefined, 'the final apply failed (every primary was rolled)');
    rmSync(statePath, { force: true });
    return { cluster: e.target.cluster, ...(from ? { from } : {}), ...(to ? { to } : {}), steps };
  } finally {
    rmSync(planFile, { force: true });
  }
}

/** What `terraform show -json` says of a plan, as far as the rollout reads it. */
interface PlanJson {
  resource_changes?: { address: string; type: string; change: { actions: string[]; before?: { name?: string } | null; after?: { name?: string } | null } }[];
}

/** Every resource the plan changes (reads and no-ops left out). */
export function plannedChanges(plan: PlanJson): { address: string; action: PlannedAction }[] {
  const of: Record<string, PlannedAction> = {
    'delete,create': 'replace',
    'create,delete': 'replace',
    update: 'update',
    create: 'create',
    delete: 'destroy',
    forget: 'forget',
  };
  return (plan.resource_changes ?? []).flatMap((r) => {
    const action = of[r.change.actions.join(',')];
    return action ? [{ address: r.address, action }] : [];
  });
}

/** The primaries' containers the plan replaces or updates, by member name. */
function primaryChanges(e: Expectation, plan: PlanJson): Change[] {
  const names = new Set(e.target.primaries.map((p) => p.name));
  return (plan.resource_changes ?? []).flatMap((r): Change[] => {
    if (r.type !== 'docker_container') return [];
    const name = r.change.after?.name ?? r.change.before?.name;
    if (!name || !names.has(name)) return [];
    const a = r.change.actions.join(',');
    if (a === 'delete,create' || a === 'create,delete') return [{ address: r.address, name, action: 'replace' }];
    if (a === 'update') return [{ address: r.address, name, action: 'update' }];
    return [];
  });
}

/** A primary as the rollout sees it: answering or down, leader, learner, version, raft index. */
interface PrimaryState {
  readonly name: string;
  readonly down: boolean;
  readonly error?: string;
  readonly leader?: boolean;
  readonly learner?: boolean;
  readonly version?: string;
  readonly raftIndex?: number;
}

/**
 * Every primary's state, and any learner the spec does not know. A fresh session each look: a member that
 * restarts is dialled anew rather than through a channel still backing off from its absence.
 */
async function primaryStates(e: Expectation, opts: SessionOptions): Promise<PrimaryState[]> {
  const views = await withSession(e.target, { ...opts, callTimeoutMs: 3000 }, (s) => s.survey());
  if (views.every((v) => !v.status))
    throw new ClusterUnreachable(`no primary of ${e.target.cluster} answers (${views.map((v) => `${v.primary.name}: ${v.error}`).join('; ')})`);
  const list = views.find((v) => v.members)?.members ?? [];
  return [
    ...views.map((v): PrimaryState =>
      v.status
        ? { name: v.primary.name, down: false, leader: v.status.isLeader, version: v.status.version, raftIndex: Number(v.status.raftIndex) }
        : { name: v.primary.name, down: true, error: v.error },
    ),
    // A learner the spec does not know (added out of band) shows only in the member list.
    ...list.filter((m) => m.isLearner).map((m) => ({ name: m.name || `(unstarted ${hex(m.ID)})`, down: false, learner: true })),
  ];
}

/**
 * How long a primary the rollout replaces gets after SIGTERM before it is killed, in seconds. etcd stopped
 * with SIGTERM refuses new requests at once, then waits up to its request timeout (5 s plus twice the
 * election timeout: 7 s by default) for its clients' streams to end (watches and lease keep-alives: every
 * grpc-proxy secondary holds some, and so do most applications) before it closes them: measured here, 1.1 s
 * to stop a member no client holds a stream to, 8.1 s with one watch open, on 3.5 and 3.6 alike. Those
 * seconds serve nobody; a kill after them is safe, since etcd syncs its log before it acknowledges a write.
 */
const HANDOVER_GRACE_SECONDS = 2;

/**
 * Before Terraform replaces a running primary: if it leads, leadership moves to the voter that has applied
 * the most (etcd's MoveLeader, which returns once the new leader leads), so that the stop costs no election;
 * then its container is stopped, SIGTERM then SIGKILL after `HANDOVER_GRACE_SECONDS`. Terraform's own stop
 * (the container's `destroy_grace_seconds`, 30 s) then finds it stopped. When leadership cannot be moved
 * (another member not answering, a refused login), the member is left to Terraform's graceful stop, in which
 * etcd hands leadership over itself.
 */
async function handOver(e: Expectation, name: string, opts: RolloutOptions): Promise<void> {
  const me = e.target.primaries.find((p) => p.name === name)!;
  const moved = await withSession(e.target, { ...opts, callTimeoutMs: 5000 }, async (s) => {
    const views = await s.survey();
    const mine = views.find((v) => v.primary.name === name)?.status;
    if (!mine?.isLeader) return '';
    // Applied index where the member reports it (etcd 3.4 and later), else its committed index.
    const applied = (v: (typeof views)[number]) => BigInt(v.status!.raftAppliedIndex !== '0' ? v.status!.raftAppliedIndex : v.status!.raftIndex);
    const to = views
      .filter((v) => v.primary.name !== name && v.status && !v.status.isLearner)
      .sort((a, b) => (applied(b) > applied(a) ? 1 : applied(b) < applied(a) ? -1 : 0))[0];
    if (!to) return `no other voter answers`;
    try {
      await s.client(me.endpoint).maintenance.moveLeader({ targetID: to.status!.memberId });
      opts.say(`${name} led: leadership moved to ${to.primary.name}`);
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  });
  if (moved) {
    opts.say(`${name} leads and leadership could not be moved (${moved}); Terraform stops it gracefully, and etcd hands leadership over itself`);
    return;
  }
  const docker = new DockerEngine(me.docker);
  // A container already stopped or gone is Terraform's to recreate.
  if (!(await docker.container(name))?.running) return;
  opts.say(`stopping ${name} (SIGTERM; killed after ${HANDOVER_GRACE_SECONDS} s if clients still hold streams to it)`);
  await docker.stop(name, HANDOVER_GRACE_SECONDS);
}

/** Waits until the member answers, is a voter, and has applied what the leader had when it came back. */
async function waitCaughtUp(e: Expectation, name: string, opts: RolloutOptions): Promise<void> {
  const endpoint = e.target.primaries.find((p) => p.name === name)!.endpoint;
  let target: number | undefined;
  try {
    await retryUntil(
      async () => {
        const live = await primaryStates(e, opts);
        const me = live.find((m) => m.name === name)!;
        if (me.down) throw new Error(`it does not answer at ${endpoint}: ${me.error}`);
        const others = live.filter((m) => m.name !== name && !m.learner);
        const leader = live.find((m) => m.leader);
        if (!leader) throw new Error('the cluster has no leader yet');
        if (others.some((m) => m.down))
          throw new Error(
            `voter ${others
              .filter((m) => m.down)
              .map((m) => m.name)
              .join(', ')} does not answer`,
          );
        target ??= leader.raftIndex;
        if ((me.raftIndex ?? 0) < target!) throw new Error(`it is at raft index ${me.raftIndex}, the leader was at ${target}`);
        return true;
      },
      { timeoutMs: opts.memberTimeoutMs, initialDelayMs: 200, maxDelayMs: 1000, retryError: () => true },
    );
  } catch (err) {
    throw new MembershipError(
      `rollout stopped: ${name} did not come back healthy within ${opts.memberTimeoutMs / 1000}s (${(err as Error).message}); the members not yet rolled are untouched; fix the cause and run etcd-cluster rollout again to continue`,
    );
  }
}
