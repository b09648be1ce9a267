/**
 * The survivor's part of a recovery: whether `--force-new-cluster` is safe on its data, its one run as a
 * one-member cluster in a one-off container on its volume (no network: no old member can reach it), and
 * its own container back, answering as the only voting member.
 */
import { forceNewClusterCommand } from '../model/recovery';
import { LABEL_CLUSTER, LABEL_ROLE } from '../model/topology/types';
import { DockerEngine, execIn, findVolume } from './docker';
import { ClusterUnreachable, MembershipError, RecoveryRefused } from './errors';
import { errorText } from './etcd-client';
import { interrupted, onInterrupt } from './interrupt';
import type { RecoveryStack, StackPrimary } from './recover-stack';
import { retryUntil } from './retry';
import { aloneAndLeading, type SurvivorRow } from './survivors';
import type { TerraformDriver } from './terraform';

/** What the survivor's steps take of the recovery's options. */
export interface SurvivorStepOptions {
  readonly say: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  /** How long the survivor may take to come back as a one-member cluster. */
  readonly timeoutMs: number;
  /** The root password with auth (throws when it is missing), undefined without. */
  readonly password?: () => string | undefined;
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

/**
 * Stops every primary, then runs the survivor once with `--force-new-cluster` in a one-off container on its
 * volume (no network: no old member can reach it), until it leads a cluster of itself alone.
 */
export async function rebuildSurvivor(stack: RecoveryStack, from: string, opts: SurvivorStepOptions): Promise<void> {
  const { say } = opts;
  const engine = (p: StackPrimary) => new DockerEngine(p.docker, opts.env);
  const p = stack.primaries.find((x) => x.name === from)!;
  if (!(await findVolume(p.volume, p.docker, opts.env))) {
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
    cmd: forceNewClusterCommand(p.command, stack.expectation.target.tls !== null),
    volume: p.volume,
    mountPath: '/var/lib/etcd',
    labels: { [LABEL_CLUSTER]: stack.cluster, [LABEL_ROLE]: 'recover' },
  });
  const offInterrupt = onInterrupt(() => stopAndRemove(docker, name));
  try {
    await docker.start(name);
    const d = p.docker;
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
export async function bringBack(stack: RecoveryStack, from: string, opts: SurvivorStepOptions, tf: TerraformDriver): Promise<void> {
  const p = stack.primaries.find((x) => x.name === from)!;
  const docker = new DockerEngine(p.docker, opts.env);
  const c = await docker.container(p.name);
  if (c && !c.running) {
    opts.say(`starting ${p.name}'s own container`);
    await docker.start(p.name);
  } else if (!c) {
    opts.say(`creating ${p.name}'s container on its volume (terraform apply -target)`);
    await tf.init({ always: true });
    await tf.apply([`-target=${p.containerAddress}`]);
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
