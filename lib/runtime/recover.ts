/**
 * `etcd-cluster recover`: a cluster that lost its quorum, brought back the way etcd's disaster-recovery
 * guide does it, and left in a state Terraform agrees with.
 *
 * From a survivor: the chosen primary restarts once as a one-member cluster on its own volume
 * (`--force-new-cluster`, in a one-off container with no network: never in the synthesized flags), then
 * every other primary comes back as a new member on a fresh volume, one at a time, through the stack's own
 * membership path (the spec's `replace` generations, recorded as a recovery so that each rejoiner's
 * `--initial-cluster` names the members it finds). From a snapshot (no survivor): the spec's `restore` with a
 * revision bump, every primary restored from it. In both cases one `terraform apply` of the re-synthesized
 * stack finishes the work and its verify hook checks the result.
 *
 * Nothing changes before the user confirmed and the stack reflects the changed spec. Each step is recorded
 * in the stack directory (`.etcd-cluster-recover.json`): a recovery stopped half-way continues when the
 * command runs again.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Expectation } from '../contract';
import { editSpecText, propsText, snapshotChanges, survivorChanges, type SpecChanges } from '../model/recovery';
import { readSnapshot } from '../model/snapshot';
import { LABEL_CLUSTER, LABEL_ROLE } from '../model/topology/types';
import { DockerEngine, execIn, findVolume } from './docker';
import { ClusterUnreachable, InvalidRequest, MembershipError, NotConfirmed, RecoveryRefused, TerraformFailed } from './errors';
import { errorText } from './etcd-client';
import { interrupted, onInterrupt, trapInterrupts, unlessInterrupted } from './interrupt';
import { readRecoveryStack, type RecoveryStack, type StackPrimary } from './recover-stack';
import { retryUntil } from './retry';
import { untarFirst } from './member-data';
import { aloneAndLeading, decide, quorumVia, survey, type Decision, type Survey, type SurvivorRow } from './survivors';

export const RECOVER_STATE_FILE = '.etcd-cluster-recover.json';
const LOCK_FILE = '.etcd-cluster-recover.lock';
const ROLLOUT_STATE_FILE = '.etcd-cluster-rollout.json';
const TERRAFORM = () => process.env.TERRAFORM_BINARY_NAME || 'terraform';

/** A recovery in progress, as recorded in the stack directory. */
interface RecoverState {
  readonly version: 1;
  readonly cluster: string;
  readonly changes: SpecChanges;
  /** `chosen`: the spec is changed, the cluster is not; `rebuilt`: the survivor runs as a one-member cluster. */
  phase: 'chosen' | 'rebuilt';
  readonly from?: string;
  /** The snapshot restored from (absolute path) and its revision. */
  readonly snapshot?: { readonly file: string; readonly revision: number };
  readonly specFile?: string;
  /** The spec file before the recovery changed it. */
  readonly originalSpec?: string;
  readonly survey: SurvivorRow[];
  readonly startedAt: string;
}

export interface RecoverOptions {
  /** The stack directory Terraform runs in. */
  readonly dir: string;
  /** The spec file the changes are written to; without one they are printed as construct props. */
  readonly specFile?: string;
  /** The primary to recover from (name or number). */
  readonly from?: string;
  readonly acceptLoss?: boolean;
  /** A snapshot file to restore from when no primary has data left. */
  readonly snapshot?: string;
  /** Re-synthesizes the stack after the spec changed (a shell command run in the current directory). */
  readonly synth?: string;
  /** How long the survivor may take to come back as a one-member cluster. */
  readonly timeoutMs: number;
  /**
   * The root password of a cluster with `auth` (undefined without auth); throws one line when it is not at
   * hand. The look at the survivors and every refusal go without it (a login needs a quorum), but the
   * recovery's steps need it: the survivor, once it leads a cluster of itself, is asked as root (etcd 3.5.28+
   * and 3.6 answer Status and MemberList only to a known user), and the final apply's hooks change the
   * membership (root only) and verify as root. So it is asked once the recovery is decided, before anything
   * changes.
   */
  readonly password?: () => string | undefined;
  readonly say: (line: string) => void;
  /** Shows the survivors and what will be lost, then asks; false stops before anything changes. */
  readonly confirm: (s: Survey, d: Decision, loss: string) => Promise<boolean>;
  readonly env?: NodeJS.ProcessEnv;
  /** The cluster's expectation read again from the stack directory (after synthesizing). */
  readonly reload: () => Promise<Expectation>;
}

export interface RecoverResult {
  readonly cluster: string;
  readonly mode: 'survivor' | 'snapshot';
  readonly from?: string;
  readonly snapshot?: string;
  readonly survivors: SurvivorRow[];
  /** The primaries that came back as new members (survivor mode), or were restored (snapshot mode). */
  readonly rebuilt: string[];
  readonly seconds: number;
  /** Where the spec changes went: the spec file, or `props` (printed). */
  readonly spec: string;
}

export async function recover(e: Expectation, opts: RecoverOptions): Promise<RecoverResult> {
  const started = Date.now();
  const { dir, say } = opts;
  const unlock = lock(dir, e.target.cluster);
  const statePath = join(dir, RECOVER_STATE_FILE);
  // Ctrl-C: the step in flight ends cleanly (a one-off container stopped and removed, Terraform's run
  // ended), the lock is released, and the state file says where the next run continues.
  const untrap = trapInterrupts({
    say,
    last: () => {
      unlock();
      say(
        existsSync(statePath)
          ? `recover stopped; the recovery is recorded in ${statePath}: run etcd-cluster recover again to continue`
          : 'recover stopped; nothing changed',
      );
    },
  });
  try {
    const rollout = join(dir, ROLLOUT_STATE_FILE);
    if (existsSync(rollout)) {
      const r = JSON.parse(readFileSync(rollout, 'utf8')) as { stoppedAt?: string };
      throw new RecoveryRefused(
        `refusing to recover ${e.target.cluster}: a rollout is in progress (stopped at ${r.stoppedAt ?? '?'}, recorded in ${rollout}); finish it, or remove that file if you gave it up`,
      );
    }
    let state = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as RecoverState) : undefined;
    if (state && state.cluster !== e.target.cluster) throw new InvalidRequest(`${statePath}: records a recovery of ${state.cluster}, not ${e.target.cluster}`);
    const save = (s: RecoverState) => writeAtomically(statePath, JSON.stringify(s, null, 2) + '\n');

    const resumed = Boolean(state);
    if (state) {
      refuseOtherChoice(state, opts, statePath);
      say(`resuming the recovery of ${e.target.cluster} begun ${state.startedAt} (${state.from ? `from ${state.from}` : 'from a snapshot'}, ${state.phase})`);
      // Stopped between recording the state and writing the spec: the spec is written now.
      if (state.specFile && state.originalSpec !== undefined && readFileSync(state.specFile, 'utf8') === state.originalSpec) {
        say(`writing the recovery into ${state.specFile}`);
        writeAtomically(state.specFile, editSpecText(state.originalSpec, state.specFile, state.changes));
      }
    } else {
      state = await begin(e, opts);
      save(state);
      if (state.specFile) writeAtomically(state.specFile, editSpecText(state.originalSpec!, state.specFile, state.changes));
    }

    // The stack must deploy the changed spec before anything changes in the cluster.
    let stack = readRecoveryStack(dir, e);
    if (!reflects(stack, state) && opts.synth) {
      say(`synthesizing: ${opts.synth}`);
      const r = await shell(opts.synth, opts.env);
      if (r.code !== 0) throw new TerraformFailed(`synthesizing failed (${opts.synth}), nothing in the cluster changed yet:\n${lastLines(r.output)}`);
      stack = readRecoveryStack(dir, await opts.reload());
    }
    if (!reflects(stack, state)) {
      const what = state.specFile
        ? `${state.specFile} is changed`
        : `${e.target.cluster} is declared in code: set these props of its EtcdCluster\n${propsText(state.changes)}\n`;
      throw new InvalidRequest(
        `${what}; the stack in ${dir} does not deploy it yet: synthesize it (cdktf synth) and run etcd-cluster recover again to continue (nothing in the cluster changed yet)`,
      );
    }

    if (state.changes.kind === 'survivor' && state.phase === 'chosen') {
      // Resumed before anything changed: the lost members may have come back meanwhile (a host rebooted).
      const via = resumed ? await quorumVia(stack) : undefined;
      if (via) {
        // The spec as it was, and the stack synthesized from it again: a stack left with the recovery's
        // generations would name volumes that do not exist, and a later recovery would take the members for lost.
        let again = false;
        if (state.specFile && state.originalSpec !== undefined) {
          writeAtomically(state.specFile, state.originalSpec);
          again = Boolean(opts.synth) && (await shell(opts.synth!, opts.env)).code === 0;
        }
        rmSync(statePath, { force: true });
        throw new RecoveryRefused(
          `refusing to recover ${e.target.cluster}: it has a quorum again (a linearizable read through ${via} succeeded); nothing in the cluster changed${state.specFile ? `, ${state.specFile} is as it was before` : ''}${again ? ' and the stack is synthesized from it again' : '; synthesize the stack from the spec again'}`,
        );
      }
      // Resumed: the password may be missing this time; asked before the survivor is touched.
      opts.password?.();
      await rebuildSurvivor(stack, state.from!, opts);
      state.phase = 'rebuilt';
      save(state);
    }
    opts.password?.();
    if (state.changes.kind === 'survivor') await bringBack(stack, state.from!, opts);

    const args = ['apply', '-input=false', '-auto-approve'];
    // A restored cluster is bootstrapped anew: its bootstrap record is written again.
    if (state.changes.kind === 'snapshot' && stack.bootstrapAddress) args.push(`-replace=${stack.bootstrapAddress}`);
    say(
      state.changes.kind === 'survivor'
        ? 'applying the stack: the other primaries rejoin one at a time, then the verify hook'
        : 'applying the stack: every primary restored from the snapshot, then the verify hook',
    );
    await terraform(dir, ['init', '-input=false'], say, false);
    await terraform(dir, args, say, true);

    rmSync(statePath, { force: true });
    const rebuilt =
      state.changes.kind === 'survivor' ? stack.primaries.filter((p) => p.name !== state!.from).map((p) => p.name) : stack.primaries.map((p) => p.name);
    return {
      cluster: e.target.cluster,
      mode: state.changes.kind,
      ...(state.from ? { from: state.from } : {}),
      ...(state.snapshot ? { snapshot: state.snapshot.file } : {}),
      survivors: state.survey,
      rebuilt,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      spec: state.specFile ?? 'props',
    };
  } catch (err) {
    await unlessInterrupted();
    throw err;
  } finally {
    untrap();
    unlock();
  }
}

/**
 * A run that resumes continues the recovery it recorded; a `--from` or `--snapshot` that names another
 * choice is refused rather than ignored (the recorded one may already have changed the cluster).
 */
function refuseOtherChoice(state: RecoverState, opts: RecoverOptions, statePath: string): void {
  const recorded = state.from ? `from ${state.from}` : `from the snapshot ${state.snapshot?.file}`;
  const index = state.survey.find((r) => r.name === state.from)?.index;
  const otherFrom = opts.from !== undefined && opts.from !== state.from && opts.from !== String(index);
  const otherSnapshot = opts.snapshot !== undefined && (state.changes.kind !== 'snapshot' || resolve(opts.snapshot) !== state.snapshot?.file);
  if (otherFrom || otherSnapshot) {
    throw new RecoveryRefused(
      `refusing ${otherFrom ? `--from ${opts.from}` : `--snapshot ${opts.snapshot}`}: the recovery of ${state.cluster} ${recorded} is in progress (recorded in ${statePath}); run etcd-cluster recover without it to continue that one`,
    );
  }
}

/** Writes a file whole or not at all (a temporary file renamed over it): never half-written when stopped. */
function writeAtomically(file: string, text: string): void {
  const target = existsSync(file) ? realpathSync(file) : file;
  const tmp = `${target}.etcd-cluster-recover.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, target);
}

/** The first run: look, decide, confirm, and record what will be done. Nothing changes here but files. */
async function begin(e: Expectation, opts: RecoverOptions): Promise<RecoverState> {
  const stack = readRecoveryStack(opts.dir, e);
  opts.say(`looking at the primaries of ${e.target.cluster}`);
  const s = await survey(stack, { env: opts.env });
  let snapshot: { file: string; revision: number; source: string } | undefined;
  if (!s.quorumVia && !s.rows.some((r) => r.raftIndex !== undefined)) snapshot = await findSnapshot(e, opts);
  const d = decide(s, { from: opts.from, acceptLoss: opts.acceptLoss, snapshot: Boolean(snapshot), namedSnapshot: Boolean(opts.snapshot) });
  const original = opts.specFile ? readFileSync(opts.specFile, 'utf8') : undefined;
  const specNow = await currentSpec(stack, opts.specFile);

  let changes: SpecChanges;
  let loss: string;
  if (d.kind === 'survivor') {
    unsafeForceNewCluster(stack, d.from);
    changes = survivorChanges(specNow, d.from.index);
    loss = lossText(s, d);
  } else {
    if (stack.etcdVersion?.startsWith('3.4.')) {
      throw new RecoveryRefused(
        `refusing to restore ${e.target.cluster} from a snapshot: etcd ${stack.etcdVersion} cannot restore one with a revision bump (no etcdutl; etcdctl's restore has no --bump-revision before 3.4.27); set the spec's image to a 3.5 release and run recover again (a 3.4 snapshot restores there)`,
      );
    }
    const where = opts.specFile ? dirname(resolve(opts.specFile)) : process.cwd();
    changes = snapshotChanges(relative(where, snapshot!.file) || snapshot!.file);
    loss = `no primary has data left: ${e.target.cluster} is restored from ${snapshot!.source} (revision ${snapshot!.revision}); every write after that snapshot is lost, and revisions continue from ${snapshot!.revision + (changes.kind === 'snapshot' ? changes.restore.bumpRevision : 0)}`;
  }
  opts.password?.();
  if (!(await opts.confirm(s, d, loss))) throw new NotConfirmed(`${e.target.cluster}: not confirmed; nothing changed`);
  if (snapshot && snapshot.source !== snapshot.file) {
    // A backup copied out of the backup container next to the spec (what `restore.snapshot` names).
    opts.say(`copying ${snapshot.source} to ${snapshot.file}`);
    await copyBackup(e, snapshot.source, snapshot.file);
  }
  return {
    version: 1,
    cluster: e.target.cluster,
    changes,
    phase: 'chosen',
    ...(d.kind === 'survivor' ? { from: d.from.name } : {}),
    ...(snapshot ? { snapshot: { file: snapshot.file, revision: snapshot.revision } } : {}),
    ...(opts.specFile ? { specFile: resolve(opts.specFile), originalSpec: original } : {}),
    survey: s.rows,
    startedAt: new Date().toISOString(),
  };
}

/** The spec's primaries and replacements: from the spec file when there is one, else as the stack deploys them. */
async function currentSpec(stack: RecoveryStack, specFile?: string): Promise<{ primaries: number; replace: Record<string, number> }> {
  if (specFile) {
    const { loadSpecFile } = await import('../model/load');
    const spec = loadSpecFile(specFile);
    if (spec.name !== stack.cluster) throw new InvalidRequest(`--spec: ${specFile} declares cluster ${spec.name}, the stack ${stack.cluster}`);
    return spec;
  }
  return {
    primaries: stack.primaries.length,
    replace: Object.fromEntries(stack.primaries.filter((p) => p.generation > 0).map((p) => [String(p.index), p.generation])),
  };
}

/** What is known to be lost, in one paragraph. */
function lossText(s: Survey, d: Extract<Decision, { kind: 'survivor' }>): string {
  const f = d.from;
  const lines = [
    `${s.cluster} is rebuilt from ${f.name} (raft index ${f.raftIndex}, term ${f.raftTerm}, revision ${f.revision ?? '?'}): writes acknowledged by the lost majority after its raft index ${f.raftIndex} are gone, and every other primary comes back empty, as a new member that copies its data`,
  ];
  for (const a of d.ahead) {
    lines.push(
      `${a.name} is ahead of it (raft index ${a.raftIndex}, revision ${a.revision ?? '?'}): the ${a.raftIndex! - f.raftIndex!} raft entries beyond ${f.raftIndex}${a.revision !== undefined && f.revision !== undefined && a.revision > f.revision ? ` (revisions ${f.revision + 1} to ${a.revision})` : ''} are lost, as accepted`,
    );
  }
  return lines.join('\n');
}

/**
 * etcd before 3.5.22 and 3.6.1 drops, in `--force-new-cluster`, the entries between the WAL's commit index
 * and the database's applied index, though the database keeps them; members that join later replay the
 * log and diverge from the survivor (measured on 3.5.21: revision 450 against 451, different KV hashes).
 * This happens only after an unclean stop (SIGKILL, a host that died), and is refused.
 */
export function unsafeForceNewCluster(stack: RecoveryStack, from: SurvivorRow): void {
  if (from.walCommit === undefined || from.dbIndex === undefined || from.dbIndex <= from.walCommit) return;
  const p = stack.primaries.find((x) => x.name === from.name)!;
  const v = stack.etcdVersion?.split('.').map(Number);
  const fixed = v && (v[0] > 3 || (v[0] === 3 && (v[1] > 6 || (v[1] === 6 && v[2] >= 1) || (v[1] === 5 && v[2] >= 22))));
  if (fixed) return;
  if (v && v[0] === 3 && v[1] === 4) {
    throw new RecoveryRefused(
      `refusing to recover ${stack.cluster} from ${from.name}: it stopped uncleanly and its database (raft index ${from.dbIndex}) is ahead of its WAL's commit index (${from.walCommit}); etcd ${v.join('.')} would drop those entries in --force-new-cluster and members joining later would diverge, and no 3.4 release fixes it (3.5.22 and 3.6.1 do): recover from a snapshot into a 3.5 image, or name another survivor with --from`,
    );
  }
  throw new RecoveryRefused(
    `refusing to recover ${stack.cluster} from ${from.name}: it stopped uncleanly and its database (raft index ${from.dbIndex}) is ahead of its WAL's commit index (${from.walCommit}); ${v ? `etcd ${v.join('.')}` : `the etcd of ${p.image} (its version is not in the tag)`} would drop those entries in --force-new-cluster and members joining later would diverge (fixed in etcd 3.5.22 and 3.6.1): move the cluster's image to a fixed patch release (same minor version), synthesize, and run recover again`,
  );
}

/** A snapshot for a cluster with no survivor: the file given, or the newest of the backup container. */
async function findSnapshot(e: Expectation, opts: RecoverOptions): Promise<{ file: string; revision: number; source: string } | undefined> {
  if (opts.snapshot) {
    const file = resolve(opts.snapshot);
    return { file, revision: readSnapshot(file).revision, source: file };
  }
  if (!e.backup) return undefined;
  try {
    const { listBackups } = await import('./snapshot');
    const list = await listBackups(e);
    const newest = [...list].sort((a, b) => (a.taken < b.taken ? -1 : 1)).pop();
    if (!newest) return undefined;
    const where = opts.specFile ? dirname(resolve(opts.specFile)) : process.cwd();
    return {
      file: join(where, `recovered-${e.target.cluster}-${newest.file}`),
      revision: newest.revision,
      source: `${e.backup.container}:/backups/${newest.file}`,
    };
  } catch (err) {
    opts.say(`no snapshot from the backup container: ${(err as Error).message}`);
    return undefined;
  }
}

async function copyBackup(e: Expectation, source: string, file: string): Promise<void> {
  const docker = new DockerEngine({ host: e.backup!.docker?.host, sshOpts: e.backup!.docker?.sshOpts });
  const path = source.slice(source.indexOf(':') + 1);
  const data = untarFirst(await docker.archive(e.backup!.container, path));
  const tmp = `${file}.part`;
  writeFileSync(tmp, data);
  readSnapshot(tmp);
  copyFileSync(tmp, file);
  rmSync(tmp, { force: true });
}

/** Whether the synthesized stack deploys the recorded changes. */
function reflects(stack: RecoveryStack, state: RecoverState): boolean {
  const c = state.changes;
  if (c.kind === 'survivor') {
    return stack.primaries.every((p) => p.name === state.from || c.replace[String(p.index)] === p.generation);
  }
  return stack.expectation.minRevision === String(state.snapshot!.revision + c.restore.bumpRevision);
}

/** Flags of the survivor's one-off run: its own, minus listeners, bootstrap and TLS flags, plus --force-new-cluster. */
export function forceNewClusterCommand(command: string[]): string[] {
  const [bin, ...flags] = command;
  const drop = /^--(listen-(client|peer|metrics)-urls|initial-[a-z-]+|(peer-)?(cert-file|key-file|trusted-ca-file|client-cert-auth|auto-tls))(=|$)/;
  const tls = flags.some((f) => f.startsWith('--cert-file'));
  const kept = flags
    .filter((f) => !drop.test(f))
    // Without TLS in the one-off, it advertises plain URLs until its own container starts and publishes its own again.
    .map((f) => (tls && f.startsWith('--advertise-client-urls=') ? f.replace(/https:\/\//g, 'http://') : f));
  return [bin, ...kept, '--listen-client-urls=http://127.0.0.1:2379', '--listen-peer-urls=http://127.0.0.1:2380', '--force-new-cluster'];
}

/**
 * Stops every primary, then runs the survivor once with `--force-new-cluster` in a one-off container on its
 * volume (no network: no old member can reach it), until it leads a cluster of itself alone.
 */
async function rebuildSurvivor(stack: RecoveryStack, from: string, opts: RecoverOptions): Promise<void> {
  const { say } = opts;
  const engine = (p: StackPrimary) => new DockerEngine({ host: p.docker?.host, sshOpts: p.docker?.sshOpts }, opts.env);
  const p = stack.primaries.find((x) => x.name === from)!;
  if (!(await findVolume(p.volume, p.docker?.host, p.docker?.sshOpts, opts.env))) {
    throw new MembershipError(
      `refusing to restart ${p.name} with --force-new-cluster: its volume ${p.volume} is gone since the survey (Docker would create it empty, and etcd found a new, empty cluster on it); run recover again once the volume is back`,
    );
  }
  for (const m of stack.primaries) {
    const c = await engine(m).container(m.name);
    if (c?.running) {
      say(`stopping ${m.name}${m.name === from ? ' (the survivor, for its one-off restart)' : ' (it comes back as a new member)'}`);
      await engine(m).stop(m.name);
    }
  }
  const docker = engine(p);
  const name = `${p.name}-recover`;
  // One left by a run that was killed: stopped cleanly before it goes (a kill is an unclean stop, see unsafeForceNewCluster).
  await stopAndRemove(docker, name);
  say(`restarting ${p.name} once as a one-member cluster (--force-new-cluster, one-off container ${name})`);
  await docker.create({
    name,
    image: p.image,
    cmd: forceNewClusterCommand(p.command),
    volume: p.volume,
    mountPath: '/var/lib/etcd',
    labels: { [LABEL_CLUSTER]: stack.cluster, [LABEL_ROLE]: 'recover' },
  });
  const offInterrupt = onInterrupt(() => stopAndRemove(docker, name));
  try {
    await docker.start(name);
    const d = { host: p.docker?.host, sshOpts: p.docker?.sshOpts };
    // As root with auth: etcd 3.5.28+ and 3.6 answer Status and MemberList only to a known user, and the
    // one-off has no TLS (so no certificate names one). A login works: the one-member cluster has its quorum.
    const password = opts.password?.();
    const login: Record<string, string> = password === undefined ? {} : { ETCDCTL_USER: `root:${password}` };
    const ctl = (args: string[]) =>
      execIn(name, ['/usr/local/bin/etcdctl', '--endpoints=http://127.0.0.1:2379', '--command-timeout=2s', ...args], d, opts.env, login);
    try {
      await retryUntil(
        async () => {
          const c = await docker.container(name);
          if (!c?.running) throw new MembershipError(`it exited`);
          const status = await ctl(['endpoint', 'status', '-w', 'json']);
          const me = /"member_id":(\d+)/.exec(status.stdout)?.[1];
          const leader = /"leader":(\d+)/.exec(status.stdout)?.[1];
          if (status.exitCode !== 0 || !me || me !== leader) throw new Error(`not leading yet: ${(status.stderr || status.stdout).trim().slice(0, 200)}`);
          const list = await ctl(['member', 'list', '-w', 'json']);
          const members = (list.stdout.match(/"ID":/g) ?? []).length;
          if (members !== 1) throw new Error(`${members} members listed`);
          return true;
        },
        { timeoutMs: opts.timeoutMs, initialDelayMs: 300, maxDelayMs: 1000, retryError: (err) => !(err instanceof MembershipError) },
      );
    } catch (err) {
      const logs = await docker.logs(name, 15).catch(() => '');
      throw new MembershipError(
        `${p.name} did not come up as a one-member cluster (${(err as Error).message}); nothing else changed, run recover again after a fix. Its last lines:\n${logs.trim()}`,
      );
    }
    say(`${p.name} leads a cluster of itself alone; stopping the one-off container`);
    await docker.stop(name);
  } finally {
    offInterrupt();
    if (!interrupted()) await docker.remove(name).catch(() => undefined);
  }
}

/** A one-off container stopped cleanly (SIGTERM: etcd syncs its WAL) and removed; none of that name is fine. */
async function stopAndRemove(docker: DockerEngine, name: string): Promise<void> {
  if (!(await docker.container(name))) return;
  await docker.stop(name);
  await docker.remove(name);
}

/** The survivor's own container back (started, or created by Terraform when it was gone), answering as the only member. */
async function bringBack(stack: RecoveryStack, from: string, opts: RecoverOptions): Promise<void> {
  const p = stack.primaries.find((x) => x.name === from)!;
  const docker = new DockerEngine({ host: p.docker?.host, sshOpts: p.docker?.sshOpts }, opts.env);
  const c = await docker.container(p.name);
  if (c && !c.running) {
    opts.say(`starting ${p.name}'s own container`);
    await docker.start(p.name);
  } else if (!c) {
    opts.say(`creating ${p.name}'s container on its volume (terraform apply -target)`);
    await terraform(opts.dir, ['init', '-input=false'], opts.say, false);
    await terraform(opts.dir, ['apply', '-input=false', '-auto-approve', `-target=${p.containerAddress}`], opts.say, false);
  }
  try {
    await retryUntil(() => aloneAndLeading(stack, p, opts.password?.()).then(() => true), {
      timeoutMs: opts.timeoutMs,
      initialDelayMs: 200,
      maxDelayMs: 1000,
      retryError: () => true,
    });
  } catch (err) {
    throw new ClusterUnreachable(
      `${p.name} did not answer as the only member within ${opts.timeoutMs / 1000}s (${errorText(err)}); run recover again to continue`,
    );
  }
  opts.say(`${p.name} answers as the only voting member; writes work again`);
}

/** Runs Terraform in the stack directory; with `progress`, the hooks' lines as they come. Throws on failure. */
function terraform(dir: string, args: string[], say: (line: string) => void, progress: boolean): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnInterruptible(TERRAFORM(), [...args, '-no-color'], { cwd: dir, env: process.env });
    let output = '';
    let partial = '';
    const onData = (d: Buffer) => {
      output += d;
      if (!progress) return;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const m = /\(local-exec\): (.*)$/.exec(line);
        if (m && m[1].trim() && !/^Executing: /.test(m[1])) say(`  ${m[1].trim()}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('error', (err) => reject(new TerraformFailed(`${TERRAFORM()}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new TerraformFailed(`terraform ${args[0]} failed; run etcd-cluster recover again after a fix to continue:\n${lastLines(output)}`));
    });
  });
}

function shell(command: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawnInterruptible(command, [], { shell: true, env: env ?? process.env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

/**
 * A child in a process group of its own, so that a Ctrl-C at the terminal does not reach it directly:
 * interrupted, recover sends it one SIGINT (Terraform ends its run cleanly on the first, and aborts on a
 * second) and waits for it to end.
 */
function spawnInterruptible(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; shell?: boolean },
): ChildProcessByStdio<null, Readable, Readable> {
  const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const closed = new Promise<void>((resolvePromise) => child.once('close', () => resolvePromise()));
  const off = onInterrupt(() => {
    try {
      if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGINT');
    } catch {
      // gone already
    }
    return closed;
  });
  child.once('close', off);
  child.once('error', off);
  return child;
}

const lastLines = (text: string, n = 20) => text.trim().split('\n').slice(-n).join('\n');

/** One recovery of a stack at a time: a lock file with the process ID, taken over when that process is gone. */
function lock(dir: string, cluster: string): () => void {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      let alive = false;
      try {
        if (pid > 0) process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (alive) throw new RecoveryRefused(`refusing to recover ${cluster}: another recovery of it is in progress (process ${pid}, ${file})`);
      rmSync(file, { force: true });
    }
  }
  throw new RecoveryRefused(`refusing to recover ${cluster}: cannot take the lock ${file}`);
}
