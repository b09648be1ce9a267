/** Section 6: scaling secondaries 3+0 -> 3+20 -> 3+40 with real Terraform. */
import { HEALTHCHECK_INTERVAL } from '../lib/model/topology/context';
import { freePortRange } from '../test/harness/env';
import { TestCluster, type Overrides } from '../test/harness/test-cluster';
import { applyJson, BENCH_PREFIX, busySince, CONTAINER, cpuTimes, f, firstAt, HOOK, idleLoad, lastAt, log, type Bench } from './shared';

export async function benchScaling(bench: Bench): Promise<void> {
  const steps = [0, 20, 40];
  const secondaryBase = await freePortRange(steps.at(-1)! + 2);
  const cluster = await TestCluster.create('scale', { primaries: 3, secondaries: 0, ports: { secondaryBase } }, { namePrefix: BENCH_PREFIX });
  cluster.say = () => undefined;
  const rows: string[] = [];
  const walls: number[] = [];
  try {
    await cluster.apply();
    for (const to of steps.slice(1)) {
      const from = to - 20;
      cluster.deployment.write(cluster.synth({ secondaries: to } as Overrides));
      const standing = await idleLoad();
      const cpu = cpuTimes();
      const { started, ended, events } = await applyJson(cluster.deployment);
      const during = busySince(cpu);
      const created = events.filter((e) => e.type === 'apply_complete' && CONTAINER.test(e.addr ?? '')).length;
      const firstChange = firstAt(events, 'apply_start');
      const hookDone = lastAt(events, 'apply_complete', HOOK);
      walls.push(ended - started);
      log(`scaling 3+${from} -> 3+${to}: ${ended - started} ms, ${created} containers, CPU busy ${f(standing)} % before, ${f(during)} % during`);
      rows.push(
        `| 3+${from} -> 3+${to} | ${ended - started} | ${firstChange - started} | ${lastAt(events, 'apply_complete', CONTAINER) - firstChange} | ${hookDone - lastAt(events, 'apply_complete', CONTAINER)} | ${created} | ${f(standing)} | ${f(during)} |`,
      );
    }
  } finally {
    await cluster.teardown();
  }
  const spread = Math.max(...walls) / Math.min(...walls);
  bench.headlines.push(
    `scaling +20 secondaries with real Terraform: ${walls.map((w) => f(w / 1000, 1)).join(' / ')} s from 0 / 20 existing (grows with the 20 added: ${spread < 1.5 ? 'yes' : 'no'})`,
  );
  bench.sections.push({
    n: 6,
    text: `## 6. Scaling secondaries with real Terraform

Method: one 3+0 cluster, then \`terraform apply -json\` of the stack with 20 more secondaries, twice
(3+0 -> 3+20 -> 3+40), one run each. Phases from Terraform's event timestamps: refresh and plan until
the first change, creating the containers (the provider creates up to 10 at a time, Terraform's default
parallelism), and the verify hook after the last container (it checks every secondary's registration and
reads through each, so it grows with the total).

| step | apply, ms | refresh and plan, ms | containers, ms | hook, ms | containers created | CPU busy before, % | CPU busy during, % |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Grows with the 20 added, not with the total: **${spread < 1.5 ? 'yes' : 'no'}** (the slowest step takes ${f(spread, 2)}x the fastest).
The refresh reads every existing container once, so the plan grows slowly with the total; the creation is
the same 20 containers each time. The last two columns are the share of the machine's CPU busy (from
/proc/stat): over 5 s with the standing cluster alone before the step, and during the apply. Each running
container has its healthcheck exec'd (primaries every ${HEALTHCHECK_INTERVAL.primary}, secondaries every ${HEALTHCHECK_INTERVAL.secondary}), so the standing
cluster's own load grows with its size and every later step creates its containers on a busier machine. Nothing else is planned: no primary, volume, network or image changes
(the integration suite asserts this from the plan).`,
  });
}
