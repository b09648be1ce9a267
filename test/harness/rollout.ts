/**
 * What the rollout suites and the upgrade walk (a test and a benchmark) share: what the rollout's `--json`
 * prints, a sampler of running primaries, the members' IDs and versions, and one hop of an upgrade under a
 * writer, measured.
 */
import type { RunResult } from '../helpers/synth';
import type { TestCluster } from './test-cluster';
import type { Writer } from './writer';

/** What `etcd-cluster rollout --json` prints. */
export interface Rolled {
  cluster: string;
  from?: string;
  to?: string;
  steps: { member: string; role: string; address: string; action: string; seconds: number }[];
}

/** Counts running primary containers every 200 ms; the lowest count seen is what a rollout must keep at a quorum. */
export class QuorumSampler {
  lowest = Number.POSITIVE_INFINITY;
  samples = 0;
  private timer?: NodeJS.Timeout;
  constructor(private readonly cluster: TestCluster) {}
  start(): this {
    this.timer = setInterval(async () => {
      const states = await Promise.all(this.cluster.topology.primaries.map((p) => this.cluster.docker.inspect('containers', p.name).catch(() => undefined)));
      const running = states.filter((s) => s?.State?.Running && !s.State.Restarting).length;
      this.lowest = Math.min(this.lowest, running);
      this.samples++;
    }, 200);
    return this;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** Member IDs by name, as the cluster lists them. */
export async function memberIds(cluster: TestCluster): Promise<Record<string, string>> {
  const c = cluster.client();
  try {
    return Object.fromEntries((await c.cluster.memberList({ linearizable: true })).members.map((m) => [m.name, m.ID]));
  } finally {
    c.close();
  }
}

/** The etcd version each primary reports, in spec order. */
export async function versions(cluster: TestCluster): Promise<string[]> {
  return Promise.all(
    cluster.topology.primaries.map(async (p) => {
      const c = cluster.client(p.hostClientUrl);
      try {
        return (await c.maintenance.status()).version;
      } finally {
        c.close();
      }
    }),
  );
}

/** The primaries' container IDs, in spec order. */
export async function primaryContainerIds(cluster: TestCluster): Promise<string[]> {
  return Promise.all(cluster.topology.primaries.map(async (p) => (await cluster.docker.inspect('containers', p.name)).Id as string));
}

/** One hop of an upgrade under a running writer, as measured. */
export interface Hop {
  readonly image: string;
  readonly result: RunResult;
  /** The rollout's own account (undefined when it failed). */
  readonly rolled?: Rolled;
  /** Wall time of `etcd-cluster rollout`, in milliseconds. */
  readonly wallMs: number;
  /** The writer's longest pause between two acknowledged writes during this hop, in milliseconds. */
  readonly longestPauseMs: number;
  /** Writes acknowledged during this hop. */
  readonly acknowledged: number;
  /** The fewest primaries running at any 200 ms sample. */
  readonly lowestRunning: number;
}

/** `etcd-cluster rollout --json` to `image` while `writer` runs; the writer's longest pause counts from this hop's start. */
export async function rollHop(cluster: TestCluster, writer: Writer, image: string): Promise<Hop> {
  writer.longestGapMs = 0;
  const before = writer.acknowledged.length;
  const sampler = new QuorumSampler(cluster).start();
  const t0 = Date.now();
  const result = await cluster.rollout({ image }, ['--json']);
  const wallMs = Date.now() - t0;
  sampler.stop();
  // A second after the rollout, so that a pause that ends after it is counted too.
  await new Promise((r) => setTimeout(r, 1000));
  return {
    image,
    result,
    rolled: result.code === 0 ? (JSON.parse(result.stdout) as Rolled) : undefined,
    wallMs,
    longestPauseMs: writer.longestGapMs,
    acknowledged: writer.acknowledged.length - before,
    lowestRunning: sampler.lowest,
  };
}
