/**
 * `npm run bench`: measures, side by side in one run, and writes BENCHMARKS.md. Never part of the tests;
 * nothing here passes or fails on time. Deploys go through real Terraform and the real Docker provider, as
 * users deploy; everything talks only to 127.0.0.1 and to containers of the local engine.
 *
 * Usage: npm run bench [-- --runs 5] [-- --only verify,deploy,synth,diff,scaling,rollout,upgrade,throughput,recover,many,store]
 *
 * This file is the runner; each target is a module of its own (bench/<target>.ts), what they share is in
 * bench/shared.ts. A new target: one module exporting `(bench: Bench) => Promise<void>`, and one entry below.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { requireEngine, TEST_IMAGE } from '../test/harness/env';
import { REPO_ROOT, run } from '../test/helpers/synth';
import { benchDeploy } from './deploy';
import { benchDiff } from './diff';
import { benchRecover } from './recover';
import { benchRollout } from './rollout';
import { benchMany } from './many';
import { benchScaling } from './scaling';
import { benchStore } from './store';
import { f, log, type Bench } from './shared';
import { benchSynth } from './synth';
import { benchThroughput } from './throughput';
import { benchUpgrade } from './upgrade';
import { benchVerify } from './verify';

/** The targets, in the order they run (a name is what `--only` selects). */
const TARGETS: Record<string, (bench: Bench) => Promise<void>> = {
  verify: benchVerify,
  deploy: benchDeploy,
  synth: benchSynth,
  diff: benchDiff,
  scaling: benchScaling,
  rollout: benchRollout,
  upgrade: benchUpgrade,
  throughput: benchThroughput,
  recover: benchRecover,
  many: benchMany,
  store: benchStore,
};

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 5;
const ALL = Object.keys(TARGETS);
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : ALL;

async function main(): Promise<void> {
  const docker = await requireEngine();
  if (ONLY.includes('deploy') && !(await run('docker-compose', ['version', '--short'])).stdout.trim()) {
    throw new Error('docker-compose is missing: run scripts/prepare-machine.sh');
  }
  mkdirSync(join(REPO_ROOT, '.work'), { recursive: true });
  const started = Date.now();
  const bench: Bench = { runs: RUNS, docker, headlines: [], sections: [] };
  for (const [name, target] of Object.entries(TARGETS)) {
    if (!ONLY.includes(name)) continue;
    log(`${name}...`);
    await target(bench);
  }
  const { headlines, sections } = bench;
  const version = (await docker.call('GET', '/version')).Version;
  const tf = (await run('terraform', ['version'])).stdout.split('\n')[0];
  const doc = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${f((Date.now() - started) / 1000)} s)${ONLY.length < ALL.length ? `, sections: ${ONLY.join(', ')}` : ''}.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${f(totalmem() / 2 ** 30)} GiB, Node ${process.version}, Docker engine ${version},
${tf}, kreuzwerker/docker from the local mirror, image \`${TEST_IMAGE}\`.
A shared machine: compare figures within one run, not across runs. Figures are median (min–max) over the
runs stated; ratios are of medians. Nothing here is asserted by a test.

Headlines:
${headlines.map((h) => `- ${h}`).join('\n')}

${sections
  .sort((a, b) => a.n - b.n)
  .map((s) => s.text)
  .join('\n\n')}
`;
  writeFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), doc);
  log('wrote BENCHMARKS.md');
}

main().catch((e) => {
  process.stderr.write(`bench: failed: ${(e as Error).message}\n`);
  process.exit(1);
});
