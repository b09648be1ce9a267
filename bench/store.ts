/**
 * Section 14: backups to an object store off the host (issue 36). A 3+0 cluster on simulated host 1 with
 * `backup.store` (deltas every 1 s), the store (SeaweedFS) on host 2. Under a steady writer: how far the
 * store trails the cluster (the age of the oldest acknowledged write the store does not hold yet, sampled
 * every 500 ms from the backup container's own report); the writer's latency with the backup container
 * running (full snapshot taken, delta stream on) and stopped; the container's CPU and memory; and the time to
 * fetch a point from the store (its full snapshot and N deltas) against fetching the full snapshot alone.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as YAML from 'yaml';
import { BIN } from '../test/harness/cli';
import { ETCD_36_IMAGE } from '../test/harness/env';
import { SimHosts } from '../test/harness/sim-hosts';
import { TestCluster } from '../test/harness/test-cluster';
import { run, scratchDir } from '../test/helpers/synth';
import { BENCH_PREFIX, f, log, sleep, stats, timed, type Bench } from './shared';

const BUCKET = 'etcd-backups';

/** Puts at a steady rate for `ms`; each write's revision, when it was acknowledged and how long it took. */
async function steady(put: () => Promise<number>, ms: number, perSecond: number): Promise<{ rev: number; at: number; took: number }[]> {
  const out: { rev: number; at: number; took: number }[] = [];
  const until = Date.now() + ms;
  for (let n = 0; Date.now() < until; n++) {
    const due = until - ms + (n * 1000) / perSecond;
    if (due > Date.now()) await sleep(due - Date.now());
    const t0 = performance.now();
    const rev = await put();
    out.push({ rev, at: Date.now(), took: performance.now() - t0 });
  }
  return out;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

export async function benchStore(bench: Bench): Promise<void> {
  const sim = await SimHosts.up(2, 'bn');
  let cluster: TestCluster | undefined;
  const dir = scratchDir('bench-store');
  try {
    await sim.load('cdktf-etcd-cluster/etcd-backup:3');
    const keyId = `bn${randomBytes(6).toString('hex')}`;
    const secret = randomBytes(18).toString('hex');
    const endpoint = await sim.s3(2, keyId, secret, BUCKET);
    const creds = join(dir, 's3.env');
    writeFileSync(creds, `AWS_ACCESS_KEY_ID=${keyId}\nAWS_SECRET_ACCESS_KEY=${secret}\n`, { mode: 0o600 });
    cluster = await TestCluster.create(
      'store',
      {
        image: ETCD_36_IMAGE,
        primaries: 3,
        secondaries: 0,
        hosts: [sim.specHosts()[0]],
        placement: { primaries: ['h1', 'h1', 'h1'] },
        backup: { every: '1h', store: { endpoint, bucket: BUCKET, credentialsFile: creds, deltaEvery: '1s' } },
      },
      { namePrefix: BENCH_PREFIX },
    );
    cluster.say = () => undefined;
    await cluster.apply();
    const spec = join(dir, 'cluster.yaml');
    writeFileSync(spec, YAML.stringify(cluster.spec));
    const backup = `${cluster.name}-backup`;
    const host = sim.engine(0);
    const c = cluster.client();
    const value = 'v'.repeat(256);
    let n = 0;
    const put = async () =>
      Number(
        (
          await c
            .put(`/bench/store/${n++ % 5000}`)
            .value(value)
            .exec()
        ).header.revision,
      );
    await steady(put, 5000, 100); // warm up; the first full snapshot is in the store

    // 1. How far the store trails, under 100 writes/s for 60 s, and the container's CPU and memory meanwhile.
    const samples: { at: number; stored: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await run('docker', ['-H', sim.hosts[0].docker, 'exec', backup, '/usr/local/bin/etcd-backup', 'position']);
        const p = JSON.parse(r.stdout || '{}') as { revision?: number };
        if (p.revision) samples.push({ at: Date.now(), stored: p.revision });
        await sleep(500);
      }
    })();
    const statsBefore = await host.call('GET', `/containers/${backup}/stats?stream=false`);
    const on = await steady(put, 60_000, 100);
    const statsAfter = await host.call('GET', `/containers/${backup}/stats?stream=false`);
    sampling = false;
    await sampler;
    const lags = samples
      .filter((s) => s.at > on[0].at + 2000 && s.at < on[on.length - 1].at)
      .map((s) => {
        const waiting = on.find((w) => w.rev > s.stored && w.at <= s.at);
        return waiting ? s.at - waiting.at : 0;
      });
    const cpuMs = (statsAfter.cpu_stats.cpu_usage.total_usage - statsBefore.cpu_stats.cpu_usage.total_usage) / 1e6;
    const wallMs = on[on.length - 1].at - on[0].at;
    const memMiB = statsAfter.memory_stats.usage / 2 ** 20;

    // 2. The writer's latency with the backup container stopped (no delta stream), same rate and length.
    await host.stop(backup);
    const off = await steady(put, 60_000, 100);
    await host.start(backup);
    c.close();
    await sleep(5000);

    // 3. A point from the store: the end of the writer's 60 s (the first full snapshot and every delta after
    //    it) against that full snapshot alone.
    const listing = JSON.parse((await run(process.execPath, [BIN, 'backups', '--json', '--spec', spec])).stdout) as {
      lineages: { full: { revision: number }[]; delta: { first: number; last: number }[]; newest: number }[];
    };
    const l = listing.lineages[listing.lineages.length - 1];
    const base = l.full[0].revision;
    const target = on[on.length - 1].rev;
    const deltas = l.delta.filter((d) => d.last > base && d.first <= target).length;
    const withDeltas = await timed(process.execPath, [BIN, 'backups', 'fetch', '--revision', String(target), '--out', join(dir, 'point.db'), '--spec', spec]);
    const fullOnly = await timed(process.execPath, [BIN, 'backups', 'fetch', '--revision', String(base), '--out', join(dir, 'full.db'), '--spec', spec]);

    const lag = stats(lags);
    const lat = (xs: { took: number }[]) => xs.map((x) => x.took);
    const p50on = pct(lat(on), 50);
    const p99on = pct(lat(on), 99);
    const p50off = pct(lat(off), 50);
    const p99off = pct(lat(off), 99);
    log(
      `store lag median ${f(lag.median)} ms, max ${f(lag.max)} ms; writer p50 ${f(p50on, 1)}/${f(p50off, 1)} ms, p99 ${f(p99on, 1)}/${f(p99off, 1)} ms (on/off)`,
    );
    bench.headlines.push(
      `backup store: trails the cluster by ${f(lag.median)} ms at the median (max ${f(lag.max)}; target 2000 ms at the median); writer p50 ${f(p50on, 1)} ms with the delta stream, ${f(p50off, 1)} ms without`,
    );
    bench.sections.push({
      n: 14,
      text: `## 14. Backups to an object store off the host

Method: a 3+0 cluster (etcd 3.6.16) on simulated host 1 with \`backup.store\` (\`deltaEvery: 1s\`), the store
(SeaweedFS, \`scripts/s3-store.sh\`) on simulated host 2, reached over their bridge; one run. A writer puts
256-byte values at 100 writes/s for 60 s. Every 500 ms the backup container's own report
(\`etcd-backup position\`) gives the newest revision in the store; the lag of a sample is how long the oldest
acknowledged write the store does not hold yet has been waiting (0 when it holds every one), over
${lags.length} samples. Then the same writer with the backup container stopped. CPU and memory of the backup
container from Docker's stats over the 60 s with the writer.

| | median | max |
| --- | --- | --- |
| store trails the cluster, ms | ${f(lag.median)} | ${f(lag.max)} |

| writer latency, ms | p50 | p99 |
| --- | --- | --- |
| backup container running (delta stream on) | ${f(p50on, 2)} | ${f(p99on, 2)} |
| backup container stopped | ${f(p50off, 2)} | ${f(p99off, 2)} |

p50 with / without: ${f(p50on / p50off, 3)}x (target within 5 %: ${p50on <= p50off * 1.05 ? 'met' : 'missed'}). The backup container used
${f(cpuMs)} ms of CPU in ${f(wallMs)} ms (${f((100 * cpuMs) / wallMs, 1)} % of one core) and ${f(memMiB, 1)} MiB of memory.

A point from the store, \`etcd-cluster backups fetch\` (a one-off container of the backup image on host 1):
revision ${target}, the end of the writer's 60 s (the full snapshot at revision ${base} and ${deltas} deltas,
${target - base} revisions written into it), ${f(withDeltas)} ms; the full snapshot alone (revision ${base}),
${f(fullOnly)} ms. Restoring either file is the same deploy (\`restore.snapshot\`): the store adds the fetch.
The lag includes up to 1 s of the report's own age (the container writes its position every second).`,
    });
  } finally {
    await sim.teardown(cluster);
  }
}
