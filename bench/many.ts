/**
 * Section 13: hundreds of secondaries on one host (issue 38). One 3+0 cluster, then real applies with the
 * verify hook to 3+100, 3+200 and 3+300 (BENCH_MANY_STEPS overrides, e.g. "0,200"). Per step: the apply's
 * phases, whether the hook passed (and its last line when not), the standing cluster's idle CPU afterwards;
 * at 3+200, `terraform plan` with and without refresh; at the last step, `etcd-cluster verify` on its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePortRange } from '../test/harness/env';
import { BIN } from '../test/harness/cli';
import { TestCluster, type Overrides } from '../test/harness/test-cluster';
import { applyJson, BENCH_PREFIX, CONTAINER, f, firstAt, HOOK, idleLoad, lastAt, log, timed, type Bench } from './shared';

export async function benchMany(bench: Bench): Promise<void> {
  const steps = (process.env.BENCH_MANY_STEPS ?? '0,100,200,300').split(',').map(Number);
  const secondaryBase = await freePortRange(steps.at(-1)! + 2);
  const cluster = await TestCluster.create('many', { primaries: 3, secondaries: steps[0], ports: { secondaryBase } }, { namePrefix: BENCH_PREFIX });
  cluster.say = () => undefined;
  const rows: string[] = [];
  const walls: number[] = [];
  let plans = '';
  let verifyLine = '';
  try {
    await cluster.apply();
    for (const [k, to] of steps.entries()) {
      if (k === 0) continue;
      cluster.deployment.write(cluster.synth({ secondaries: to } as Overrides));
      let outcome = 'passed';
      let started = Date.now();
      let ended = started;
      let phases = ['', '', ''];
      try {
        const r = await applyJson(cluster.deployment);
        ({ started, ended } = r);
        const first = firstAt(r.events, 'apply_start');
        const lastContainer = lastAt(r.events, 'apply_complete', CONTAINER);
        phases = [f(first - started), f(lastContainer - first), f(lastAt(r.events, 'apply_complete', HOOK) - lastContainer)];
      } catch (e) {
        ended = Date.now();
        outcome = `failed: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 300)}`;
      }
      walls.push(ended - started);
      const idle = await idleLoad(10_000);
      log(`3+${steps[k - 1]} -> 3+${to}: ${ended - started} ms, hook ${outcome}, standing idle CPU ${f(idle)} %`);
      rows.push(`| 3+${steps[k - 1]} -> 3+${to} | ${ended - started} | ${phases.join(' | ')} | ${outcome} | ${f(idle)} |`);
      if (to === 200) {
        const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
        const cwd = cluster.deployment.dir;
        const plan = await timed('terraform', ['plan', '-input=false', '-lock=false'], { cwd, env });
        const noRefresh = await timed('terraform', ['plan', '-input=false', '-lock=false', '-refresh=false'], { cwd, env });
        const lines = readFileSync(join(cwd, 'cdk.tf.json'), 'utf8').split('\n').length;
        plans = `At 3+200: \`terraform plan\` ${f(plan)} ms, \`plan -refresh=false\` ${f(noRefresh)} ms (${f(plan / noRefresh, 2)}x); the synthesized JSON has ${lines} lines.`;
        log(plans);
      }
      if (outcome !== 'passed') break;
    }
    try {
      const v = await timed(process.execPath, [BIN, 'verify', '--stack', cluster.deployment.dir, '--timeout', '120'], { cwd: cluster.deployment.dir });
      verifyLine = `\`etcd-cluster verify\` of the last step on its own: ${f(v)} ms.`;
    } catch (e) {
      verifyLine = `\`etcd-cluster verify\` of the last step on its own failed: ${(e as Error).message.replace(/\s+/g, ' ').slice(-300)}`;
    }
    log(verifyLine);
  } finally {
    await cluster.teardown();
  }
  const ratio = walls.at(-1)! / walls[0];
  bench.headlines.push(`hundreds of secondaries: ${steps.join(' -> ')}, last step / first ${f(ratio, 2)}x (target 1.3x)`);
  bench.sections.push({
    n: 13,
    text: `## 13. Hundreds of secondaries on one host

Method: one 3+0 cluster (grpc-proxy secondaries), then \`terraform apply -json\` with the verify hook to
${steps
  .slice(1)
  .map((s) => `3+${s}`)
  .join(', ')}, one run. Phases from Terraform's event timestamps (refresh and
plan until the first change; creating the containers; the hook after the last container). Idle CPU: the
share of the machine busy over 10 s after the step, the standing cluster alone (/proc/stat).

| step | apply, ms | refresh and plan, ms | containers, ms | hook, ms | hook | idle CPU after, % |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Last step / first: ${f(ratio, 2)}x (target 1.3x). ${plans} ${verifyLine}`,
  });
}
