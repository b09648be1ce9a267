/**
 * Section 9: etcd upgraded along its documented path, 3.4.23 -> 3.5.35 -> 3.6.16, one `etcd-cluster rollout`
 * per hop under a writer: the writer's longest pause and the rollout's wall time for each hop.
 */
import { ETCD_34_IMAGE, ETCD_35_IMAGE, ETCD_36_IMAGE } from '../test/harness/env';
import { rollHop, type Hop } from '../test/harness/rollout';
import { TestCluster } from '../test/harness/test-cluster';
import { Writer } from '../test/harness/writer';
import { BENCH_PREFIX, f, log, sleep, type Bench } from './shared';

const HOPS = [ETCD_35_IMAGE, ETCD_36_IMAGE];

export async function benchUpgrade(bench: Bench): Promise<void> {
  const rows: string[] = [];
  const cluster = await TestCluster.create('walk', { primaries: 3, secondaries: 0, image: ETCD_34_IMAGE }, { namePrefix: BENCH_PREFIX });
  cluster.say = () => undefined;
  try {
    await cluster.apply();
    const writerClient = cluster.client();
    const writer = new Writer(writerClient, '/bench/walk/', 3_600_000).start();
    await sleep(1000);
    const hops: Hop[] = [];
    try {
      for (const image of HOPS) {
        const h = await rollHop(cluster, writer, image);
        if (h.result.code !== 0) throw new Error(`rollout to ${image} failed: ${h.result.stderr.slice(-600)}`);
        hops.push(h);
      }
    } finally {
      await writer.stop();
    }
    const reader = cluster.client();
    const done = await writer.finish(reader);
    reader.close();
    writerClient.close();
    log(`upgrade walk: ${done.summary}`);
    for (const h of hops) {
      const r = h.rolled!;
      rows.push(
        `| ${r.from} -> ${r.to} | ${f(h.wallMs / 1000, 1)} | ${r.steps.map((s) => `${s.role} ${f(s.seconds, 1)}`).join(', ')} | ${h.acknowledged} | ${h.longestPauseMs} | ${h.lowestRunning} |`,
      );
      bench.headlines.push(`etcd upgrade ${r.from} -> ${r.to} by rollout under a writer: longest pause ${h.longestPauseMs} ms`);
    }
    bench.headlines.push(`etcd upgrade walk 3.4 -> 3.5 -> 3.6: ${done.acknowledged} writes acknowledged, ${done.lost.length} lost`);
    rows.push(`| whole walk | | | ${done.acknowledged} acknowledged, ${done.failures} failed attempts, ${done.lost.length} lost | | |`);
  } finally {
    await cluster.teardown();
  }
  bench.sections.push({
    n: 11,
    text: `## 11. Upgrading etcd along its documented path

Method: a cluster of 3 primaries deployed on etcd 3.4.23, a writer putting numbered keys as fast as the
cluster acknowledges them (through a client of every primary), then \`etcd-cluster rollout\` to 3.5.35 (the
newest 3.5 patch the Go module proxy serves, above the 3.5.26 that 3.6 needs) and to 3.6.16, one hop after
the other: one member at a time, followers first, the leader last, each back and caught up before the next.
Before 3.5 -> 3.6 the rollout runs \`etcdutl check v2store\` on every primary's data (in the rollout's time).
The pause counts from each hop's start; "lowest running" is the fewest primaries running at any 200 ms
sample. Afterwards every acknowledged key is read back. One run.

| hop | rollout, s | each member's turn, s | writes acknowledged | writer's longest pause, ms | lowest running |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

As in section 7, the longest pause is the leader's turn: its container stops (SIGTERM; etcd hands leadership
over first) and the writer's client moves to another member.`,
  });
}
