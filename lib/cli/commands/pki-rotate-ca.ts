/**
 * `etcd-cluster pki rotate-ca trust-new | reissue | drop-old`: a CA rollover in three phases, each rolled
 * out before the next (lib/model/pki-rotation.ts says why and what each needs). Each refuses to run out of
 * order, and `reissue` and `drop-old` refuse until the containers show the previous phase rolled out.
 */
import type { Topology } from '../../model/topology';
import type { PkiState, RotationCommand } from '../../model/pki-rotation';
import { defineCommand } from '../command';
import { pkiOptions, validityDays } from '../options';
import { pkiOfSpec } from '../pki-spec';

const GROUP = 'replace the CA in three phases, each rolled out before the next: trust-new, reissue, drop-old';

type Opts = { spec?: string; out?: string; days: number };

/** The directory, its state, and the refusal of a phase command run out of order or before the last roll. */
async function prepare(
  command: RotationCommand,
  opts: Opts,
  cwd: string,
  progress: (line: string) => void,
): Promise<{ dir: string; topology: Topology; state: PkiState }> {
  const { liveTrust } = await import('../../runtime/pki');
  const { notRolledOut, outOfOrder, readPkiState } = await import('../../model/pki-rotation');
  const { PkiError } = await import('../../model/pki');
  const { DockerHostError, MembershipError } = await import('../../runtime/errors');
  const { dir, topology } = await pkiOfSpec(opts.spec, opts.out, cwd);
  const state = readPkiState(dir);
  const order = outOfOrder(command, state.phase);
  if (order) throw new PkiError(order);
  if (command !== 'trust-new') {
    progress(`reading what each container of ${topology.name} trusts and presents`);
    const live = await liveTrust(topology, state);
    const why = notRolledOut(command, live);
    // A container whose files could not be read: its Docker host failed (exit 4), not the cluster's state.
    if (why) throw live.some((l) => l.state === 'unreadable') ? new DockerHostError(why) : new MembershipError(why);
  }
  return { dir, topology, state };
}

const NEXT = (then: string) => `next: cdktf synth, then etcd-cluster rollout; then ${then}`;

export const rotateTrustNew = defineCommand<Opts>({
  path: ['pki', 'rotate-ca', 'trust-new'],
  groupDescription: GROUP,
  description: 'phase 1: make a new CA and trust it next to the old one (ca.crt holds both); certificates stay from the old CA',
  source: false,
  options: (cmd) => pkiOptions(cmd).option('--days <n>', 'validity of the new CA in days', validityDays, 1650),
  async run(ctx) {
    const { dir } = await prepare('trust-new', ctx.opts, ctx.io.cwd ?? process.cwd(), ctx.progress);
    const { trustNewCa } = await import('../../runtime/pki');
    const r = await trustNewCa(dir, ctx.opts.days);
    const next = NEXT('etcd-cluster pki rotate-ca reissue');
    ctx.printer.result(`${dir}: made the new CA ${r.subject} (ca-new.crt, ca-new.key); ca.crt now trusts the old and the new CA\n${next}`, {
      dir,
      phase: 1,
      written: r.files,
      next,
    });
  },
});

export const rotateReissue = defineCommand<Opts>({
  path: ['pki', 'rotate-ca', 'reissue'],
  groupDescription: GROUP,
  description: 'phase 2: once every container trusts the new CA, reissue every certificate from it (new keys); both CAs stay trusted',
  source: false,
  options: (cmd) => pkiOptions(cmd).option('--days <n>', 'validity of the new certificates in days', validityDays, 825),
  async run(ctx) {
    const { dir, topology } = await prepare('reissue', ctx.opts, ctx.io.cwd ?? process.cwd(), ctx.progress);
    const { reissueFromNewCa } = await import('../../runtime/pki');
    const renewed = await reissueFromNewCa(dir, topology.tls!.nodes, ctx.opts.days);
    const next = NEXT('etcd-cluster pki rotate-ca drop-old');
    ctx.printer.result(`${dir}: reissued ${renewed.join(', ')} from the new CA, which issues from now on (ca.key); the old CA is ca-old.crt\n${next}`, {
      dir,
      phase: 2,
      renewed,
      next,
    });
  },
});

export const rotateDropOld = defineCommand<Opts>({
  path: ['pki', 'rotate-ca', 'drop-old'],
  groupDescription: GROUP,
  description: "phase 3: once every container presents certificates of the new CA, trust the new CA alone and delete the old CA's key",
  source: false,
  options: pkiOptions,
  async run(ctx) {
    const { dir, topology } = await prepare('drop-old', ctx.opts, ctx.io.cwd ?? process.cwd(), ctx.progress);
    const { dropOldCa } = await import('../../runtime/pki');
    await dropOldCa(dir, topology.tls!.nodes);
    const next = 'next: cdktf synth, then etcd-cluster rollout; the rollover is done once it has rolled out (etcd-cluster pki status)';
    ctx.printer.result(`${dir}: ca.crt trusts the new CA alone; the old CA's key is deleted (its certificate stays as ca-old.crt)\n${next}`, {
      dir,
      phase: 0,
      next,
    });
  },
});
