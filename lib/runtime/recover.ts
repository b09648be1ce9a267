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
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Expectation } from '../contract';
import { editSpecText, propsText, snapshotChanges, survivorChanges, type SpecChanges } from '../model/recovery';
import { InvalidRequest, NotConfirmed, RecoveryRefused, TerraformFailed } from './errors';
import { takeLock, writeAtomically } from './files';
import { shell, trapInterrupts, unlessInterrupted } from './interrupt';
import { readRecoveryStack, rereadRecoveryStack, type RecoveryStack } from './recover-stack';
import { copyBackup, findSnapshot } from './recover-snapshot';
import { bringBack, rebuildSurvivor, unsafeForceNewCluster } from './recover-survivor';
import { decide, quorumVia, survey, type Decision, type Survey, type SurvivorRow } from './survivors';
import { lastLines, TerraformDriver } from './terraform';

export const RECOVER_STATE_FILE = '.etcd-cluster-recover.json';
const LOCK_FILE = '.etcd-cluster-recover.lock';
const ROLLOUT_STATE_FILE = '.etcd-cluster-rollout.json';

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
  const lockFile = join(dir, LOCK_FILE);
  const unlock = takeLock(
    lockFile,
    (pid) =>
      new RecoveryRefused(
        pid
          ? `refusing to recover ${e.target.cluster}: another recovery of it is in progress (process ${pid}, ${lockFile})`
          : `refusing to recover ${e.target.cluster}: cannot take the lock ${lockFile}`,
      ),
  );
  const tf = new TerraformDriver(dir, { interruptible: true, failed: (what) => `${what}; run etcd-cluster recover again after a fix to continue` });
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
      stack = rereadRecoveryStack(dir, e.target.cluster);
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
    if (state.changes.kind === 'survivor') await bringBack(stack, state.from!, opts, tf);

    const args: string[] = [];
    // A restored cluster is bootstrapped anew: its bootstrap record is written again.
    if (state.changes.kind === 'snapshot' && stack.bootstrapAddress) args.push(`-replace=${stack.bootstrapAddress}`);
    say(
      state.changes.kind === 'survivor'
        ? 'applying the stack: the other primaries rejoin one at a time, then the verify hook'
        : 'applying the stack: every primary restored from the snapshot, then the verify hook',
    );
    await tf.init({ always: true });
    await tf.apply(args, say);

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

/** Whether the synthesized stack deploys the recorded changes. */
function reflects(stack: RecoveryStack, state: RecoverState): boolean {
  const c = state.changes;
  if (c.kind === 'survivor') {
    return stack.primaries.every((p) => p.name === state.from || c.replace[String(p.index)] === p.generation);
  }
  return stack.expectation.minRevision === String(state.snapshot!.revision + c.restore.bumpRevision);
}
