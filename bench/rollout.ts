/** Section 7: the writer's longest pause while `etcd-cluster rollout` rolls a flag change through 3 and 5 primaries. */
import { TestCluster, type Overrides } from '../test/harness/test-cluster';
import { Writer } from '../test/harness/writer';
import { BENCH_PREFIX, f, log, sleep, type Bench } from './shared';

export async function benchRollout(bench: Bench): Promise<void> {
  const rows: string[] = [];
  for (const primaries of [3, 5]) {
    const cluster = await TestCluster.create(`roll${primaries}`, { primaries, secondaries: 0 }, { namePrefix: BENCH_PREFIX });
    cluster.say = () => undefined;
    try {
      await cluster.apply();
      const writerClient = cluster.client();
      const writer = new Writer(writerClient, '/bench/roll/', 200_000).start();
      await sleep(1000);
      const t0 = Date.now();
      const r = await cluster.rollout({ etcd: { extraFlags: ['--snapshot-count=5000'] } } as Overrides, ['--json']);
      const wall = Date.now() - t0;
      await sleep(1000);
      const reader = cluster.client();
      const done = await writer.finish(reader);
      reader.close();
      writerClient.close();
      if (r.code !== 0) throw new Error(`rollout of ${primaries} failed: ${r.stderr.slice(-600)}`);
      const steps = (JSON.parse(r.stdout) as { steps: unknown[] }).steps.length;
      log(`rollout ${primaries} primaries: ${done.summary}`);
      rows.push(`| ${primaries} | ${steps} | ${f(wall / 1000, 1)} | ${done.acknowledged} | ${done.failures} | ${done.lost.length} | ${done.longestGapMs} |`);
      bench.headlines.push(
        `rollout of ${primaries} primaries under a writer: longest pause ${done.longestGapMs} ms, ${done.lost.length} acknowledged writes lost`,
      );
    } finally {
      await cluster.teardown();
    }
  }
  bench.sections.push({
    n: 7,
    text: `## 7. Rolling a flag change through the primaries

Method: a cluster of 3 and one of 5 primaries, a writer putting numbered keys as fast as the cluster
acknowledges them (through a client of every primary), and \`etcd-cluster rollout\` of a changed etcd flag
(\`--snapshot-count=5000\`): one member at a time, followers first, the leader last, each back and caught up
before the next. Afterwards every acknowledged key is read back. One run each.

| primaries | members rolled | rollout, s | writes acknowledged | failed attempts | acknowledged writes lost | writer's longest pause, ms |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

The longest pause is the leader's turn: its container stops (SIGTERM; etcd hands leadership over first) and
the writer's client moves to another member.`,
  });
}
