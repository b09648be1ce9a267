/**
 * Section 9: `etcd-cluster recover` after a cluster of 3 and one of 5 primaries lost its quorum (all but
 * primary 1 and, of 5, primary 5 lost with their volumes): the time from the command's start until writes
 * work again (the survivor alone) and until it exits with the verify hook passed (every primary back).
 */
import { connect } from '../lib/runtime/etcd-client';
import { TestCluster } from '../test/harness/test-cluster';
import { BENCH_PREFIX, f, log, sleep, type Bench } from './shared';

/** Tries a put every 100 ms from `since` until one succeeds or `stop()` says so; the time of the first success. */
function firstWriteAfter(hosts: string[]): { at: Promise<number | undefined>; stop: () => void } {
  let stopped = false;
  const c = connect(hosts, { timeoutMs: 1000 });
  const at = (async () => {
    try {
      while (!stopped) {
        try {
          await c.put('/bench/recover/probe').value('1');
          return Date.now();
        } catch {
          await sleep(100);
        }
      }
      return undefined;
    } finally {
      c.close();
    }
  })();
  return { at, stop: () => (stopped = true) };
}

export async function benchRecover(bench: Bench): Promise<void> {
  const rows: string[] = [];
  for (const primaries of [3, 5]) {
    const cluster = await TestCluster.create(`rec${primaries}`, { primaries, secondaries: 0 }, { namePrefix: BENCH_PREFIX });
    cluster.say = () => undefined;
    try {
      await cluster.apply();
      const c = cluster.client();
      for (let i = 0; i < 200; i++) await c.put(`/bench/recover/${i}`).value(String(i));
      c.close();
      const lost = primaries === 3 ? [2, 3] : [2, 3, 4];
      for (const i of lost) {
        const p = cluster.topology.primaries[i - 1];
        await cluster.docker.removeContainer(p.name);
        await cluster.docker.removeVolume(p.volume);
      }
      await sleep(2000);
      const probe = firstWriteAfter(cluster.topology.primaries.map((p) => p.hostClientUrl));
      const t0 = Date.now();
      const r = await cluster.recover(['--yes', '--json']);
      const wall = Date.now() - t0;
      probe.stop();
      const writable = await probe.at;
      if (r.code !== 0) throw new Error(`recover of ${primaries} failed: ${r.stderr.slice(-600)}`);
      const result = JSON.parse(r.stdout) as { rebuilt: string[] };
      log(`recover ${primaries} primaries: ${f(wall / 1000, 1)} s, writes again after ${writable ? f((writable - t0) / 1000, 1) : '-'} s`);
      rows.push(`| ${primaries} | ${lost.length} | ${result.rebuilt.length} | ${writable ? f((writable - t0) / 1000, 1) : '-'} | ${f(wall / 1000, 1)} |`);
      bench.headlines.push(
        `recover of ${primaries} primaries that lost their quorum: writes again after ${writable ? f((writable - t0) / 1000, 1) : '-'} s, verified after ${f(wall / 1000, 1)} s`,
      );
    } finally {
      await cluster.teardown();
    }
  }
  bench.sections.push({
    n: 9,
    text: `## 9. Recovering from a lost quorum

Method: a cluster of 3 and one of 5 primaries (no secondaries) with 200 keys loses primaries 2 and 3 (of 5:
2, 3 and 4), containers and volumes, as hosts that died take them. Then \`etcd-cluster recover --yes\` with
the spec in a file and \`--synth\` re-synthesizing the stack (test/harness/synth-spec.js): it looks at every
primary, writes the spec, synthesizes, restarts primary 1 once with \`--force-new-cluster\` in a one-off
container, starts its own container, and applies the stack, whose membership hooks bring the others back one
at a time and whose verify hook checks the result. "Writes again" is the first put accepted (tried every
100 ms) after the command started; "verified" is when the command exited with the verify hook passed. One
run each.

| primaries | lost | rejoined | writes again, s | verified, s |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

Each rejoiner waits for the one before it to be promoted, and etcd refuses a new member until every voter has
been connected for 5 s (its strict reconfiguration check): a few seconds per rejoiner.`,
  });
}
