/** Section 3: the repository app's synthesis as cdktf runs it, the cdktf CLI's share, and growth in process. */
import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run, scratchDir } from '../test/helpers/synth';
import { f, fmt, log, med, stats, timed, verdict, type Bench } from './shared';

export async function benchSynth(bench: Bench): Promise<void> {
  const dir = scratchDir('bnsynth');
  const app = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdktf.json'), 'utf8')) as { app: string }).app;
  const cdktf = join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');
  const rows: string[] = [];
  let app500 = 0;
  let cold500 = 0;
  try {
    for (const n of [0, 500]) {
      const spec = join(dir, `c${n}.yaml`);
      writeFileSync(spec, `name: bnsynth\nprimaries: 3\nsecondaries: ${n}\nports: { primaryBase: 20000, secondaryBase: 30000 }\n`);
      const env = { ETCD_CLUSTER_CONFIG: spec, CHECKPOINT_DISABLE: '1' };
      const appMs: number[] = [];
      const wholeMs: number[] = [];
      for (let i = 0; i < bench.runs; i++) {
        const out = join(dir, `out-${n}-${i}`);
        appMs.push(await timed('sh', ['-c', app], { cwd: REPO_ROOT, env: { ...env, CDKTF_OUTDIR: out } }));
        if (!existsSync(join(out, 'stacks', 'bnsynth', 'cdk.tf.json'))) throw new Error(`the app wrote no stack for 3+${n}`);
        wholeMs.push(await timed(cdktf, ['synth', '--output', join(dir, `whole-${n}-${i}`)], { cwd: REPO_ROOT, env }));
      }
      const a = stats(appMs);
      const w = stats(wholeMs);
      if (n === 500) {
        app500 = a.median;
        // The first run after an edit of the app's sources (its entry file touched): the runner bundles again.
        const now = new Date();
        utimesSync(join(REPO_ROOT, 'main.ts'), now, now);
        cold500 = await timed('sh', ['-c', app], { cwd: REPO_ROOT, env: { ...env, CDKTF_OUTDIR: join(dir, 'out-cold') } });
      }
      log(`synth 3+${n}: app ${fmt(a)} ms, cdktf synth ${fmt(w)} ms`);
      rows.push(`| 3+${n} | ${fmt(a)} | ${fmt(w)} | ${f(w.median - a.median)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Growth, in process (construct building and writing only), one fresh process per run.
  const sizes = [0, 100, 500, 1000];
  const growth: string[] = [];
  const medians: number[] = [];
  for (const n of sizes) {
    const ms: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < bench.runs; i++) {
      const r = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'run-ts.js'), join(REPO_ROOT, 'bench', 'synth-one.ts'), String(n)], { cwd: REPO_ROOT });
      if (r.code !== 0) throw new Error(`synth of ${n} failed: ${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
      ms.push(out.ms);
      rss.push(out.maxRssMiB);
    }
    medians.push(med(ms));
    growth.push(`| 3+${n} | ${fmt(stats(ms))} | ${fmt(stats(rss))} |`);
  }
  const perSecondary = sizes.slice(1).map((n, k) => (medians[k + 1] - medians[0]) / n);
  bench.headlines.push(
    `the repository app's synth of 3+500: ${f(app500)} ms (target < 1500 ms: ${verdict(app500 < 1500)}); \`cdktf synth\` adds its CLI's share (section 3)`,
  );
  bench.sections.push({
    n: 3,
    text: `## 3. Synthesis

Method: the repository app exactly as \`cdktf.json\` names it (\`${app}\`), run as its own process with the
spec in \`ETCD_CLUSTER_CONFIG\` and \`CDKTF_OUTDIR\` set, as the cdktf CLI runs it; and the whole
\`cdktf synth\` of the same spec. The difference is the cdktf CLI's own share (its start-up, which loads
its whole toolchain, and its checks around the app). ${bench.runs} runs each.

| cluster | the app, ms | \`cdktf synth\`, ms | the CLI's share, ms |
| --- | --- | --- | --- |
${rows.join('\n')}

Target for the app on 3+500 under 1500 ms: **${verdict(app500 < 1500)}** (${f(app500)} ms). The first run after an
edit of the app's sources, when \`scripts/run-ts.js\` bundles them again with esbuild: ${f(cold500)} ms (one run).
The runner keeps the bundle while no file in it changed, and gives the stack traces cdktf captures for every
token it creates (about 17 per container, whatever \`App({ stackTraces: false })\` says) an empty trace;
both found with \`--cpu-prof\`. The CLI's share does not depend on the cluster. What a user can do about it:
run the app directly (\`${app}\`; set \`CDKTF_OUTDIR\`) and Terraform on \`cdktf.out/stacks/<name>\`, skipping
the cdktf CLI (no type check on that path; \`npm run build\` type-checks).

Growth, in process (\`bench/synth-one.ts\` through the same runner: construct building and \`app.synth()\` only, one fresh process per run; memory is the process's peak RSS):

| cluster | ms: median (min–max) | peak RSS, MiB |
| --- | --- | --- |
${growth.join('\n')}

Time added per secondary over 3+0: ${sizes
      .slice(1)
      .map((n, k) => `${n}: ${f(perSecondary[k], 2)} ms`)
      .join(', ')} (linear: the per-secondary cost stays within a factor of ${f(Math.max(...perSecondary) / Math.min(...perSecondary), 2)}).`,
  });
}
