/**
 * Section 7: the writer's longest pause while `etcd-cluster rollout` rolls a flag change through 3 and 5
 * primaries, and through 3 primaries with 2 grpc-proxy secondaries (whose watches and lease keep-alives are
 * the client streams a stopping etcd waits for), with each member's turn.
 */
import { TestCluster, type Overrides } from '../test/harness/test-cluster';
import { Writer } from '../test/harness/writer';
import { BENCH_PREFIX, f, log, sleep, type Bench } from './shared';

export async function benchRollout(bench: Bench): Promise<void> {
  const rows: string[] = [];
  for (const [primaries, secondaries] of [
    [3, 0],
    [5, 0],
    [3, 2],
  ]) {
    const cluster = await TestCluster.create(`roll${primaries}${secondaries}`, { primaries, secondaries }, { namePrefix: BENCH_PREFIX });
    cluster.say = () => undefined;
    try {
      await cluster.apply();
      const writerClient = cluster.client();
      const writer = new Writer(writerClient, '/bench/roll/').start();
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
      const steps = (JSON.parse(r.stdout) as { steps: { role: string; seconds: number }[] }).steps;
      log(`rollout ${primaries}+${secondaries}: ${done.summary}`);
      const turns = steps.map((s) => `${f(s.seconds, 1)}${s.role === 'leader' ? ' (leader)' : ''}`).join(', ');
      rows.push(
        `| ${primaries} | ${secondaries} | ${steps.length} | ${f(wall / 1000, 1)} | ${turns} | ${done.acknowledged} | ${done.failures} | ${done.lost.length} | ${done.longestGapMs} |`,
      );
      bench.headlines.push(
        `rollout of ${primaries} primaries${secondaries ? ` and ${secondaries} grpc-proxy secondaries` : ''} under a writer: ${f(wall / 1000, 1)} s, longest pause ${done.longestGapMs} ms, ${done.lost.length} acknowledged writes lost`,
      );
    } finally {
      await cluster.teardown();
    }
  }
  bench.sections.push({
    n: 7,
    text: `## 7. Rolling a flag change through the primaries

Method: a cluster of 3 primaries, one of 5, and one of 3 primaries with 2 grpc-proxy secondaries (the
default kind, which hold watches and lease keep-alives on the primaries), a writer putting numbered keys as
fast as the cluster acknowledges them (through a client of every primary), and \`etcd-cluster rollout\` of a
changed etcd flag (\`--snapshot-count=5000\`): one member at a time, followers first, the leader last (its
leadership moved first), each stopped by the rollout (SIGTERM, killed after 2 s), replaced, and back and
caught up before the next. A turn is one member's, from its stop to caught up, as the rollout reports it.
Afterwards every acknowledged key is read back. One run each.

| primaries | secondaries | members rolled | rollout, s | each turn, s | writes acknowledged | failed attempts | acknowledged writes lost | writer's longest pause, ms |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

The longest pause is a turn's: the writer's client leaves the member being stopped for another.`,
  });
}
