/**
 * What the rollout suites and the upgrade walk (a test and a benchmark) share: what the rollout's `--json`
 * prints, a sampler of running primaries, the members' IDs and versions, and one hop of an upgrade under a
 * writer, measured.
 */
import type { RunResult } from '../helpers/synth';
import type { TestCluster } from './test-cluster';
import type { Writer } from './writer';

export { memberIds, primaryContainerIds } from './members';

/** What `etcd-cluster rollout --json` prints. */
export interface Rolled {
  cluster: string;
  from?: string;
  to?: string;
  steps: { member: string; role: string; address: string; action: string; seconds: number }[];
}

/**
 * Counts running primary containers every 200 ms; the lowest count seen is what a rollout must keep at a
 * quorum. `lowest` starts at Infinity, which passes any "at least" check: a test reads `samples` too (what
 * `stop` returns) and requires a minimum, so that a sampler that never sampled cannot pass.
 */
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
  /** Stops; the fewest primaries seen running (Infinity when it never sampled) and how many samples it took. */
  stop(): { lowWater: number; samples: number } {
    clearInterval(this.timer);
    return { lowWater: this.lowest, samples: this.samples };
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
  /** How many samples that is the lowest of. */
  readonly samples: number;
  /** When the rollout ended, in ms since the epoch: the writer must acknowledge writes after it. */
  readonly endedAt: number;
}

/** `etcd-cluster rollout --json` to `image` while `writer` runs; the writer's longest pause counts from this hop's start. */
export async function rollHop(cluster: TestCluster, writer: Writer, image: string): Promise<Hop> {
  writer.longestGapMs = 0;
  const before = writer.acknowledged.length;
  const sampler = new QuorumSampler(cluster).start();
  const t0 = Date.now();
  const result = await cluster.rollout({ image }, ['--json']);
  const endedAt = Date.now();
  const wallMs = endedAt - t0;
  const { lowWater, samples } = sampler.stop();
  // A second after the rollout, so that a pause that ends after it is counted too; and a write acknowledged
  // after it ended, so that the hop's figures are those of a writer that ran through the whole rollout.
  await new Promise((r) => setTimeout(r, 1000));
  await writer.continuedAfter(endedAt);
  return {
    image,
    result,
    rolled: result.code === 0 ? (JSON.parse(result.stdout) as Rolled) : undefined,
    wallMs,
    longestPauseMs: writer.longestGapMs,
    acknowledged: writer.acknowledged.length - before,
    lowestRunning: lowWater,
    samples,
    endedAt,
  };
}
