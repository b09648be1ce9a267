import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Testing } from 'cdktf';
import type { EtcdClusterProps } from '../../lib/model';
import { EtcdClusterStack } from '../../stacks/etcd-cluster-stack';

export const REPO_ROOT = resolve(__dirname, '..', '..');
/** Scratch space inside the repository (git-ignored): npx resolves our own bin from below it. */
export const WORK_DIR = join(REPO_ROOT, '.work');

/**
 * Terraform and cdktf without any call home (checkpoint) and without a user's CLI config:
 * the only network these tests may touch is loopback and our own containers.
 */
export const QUIET_TERRAFORM_ENV = { CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1' };

export type Resources = Record<string, Record<string, Record<string, unknown>>>;
export interface TfJson {
  resource: Resources;
  provider?: Record<string, unknown>;
  terraform?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Synthesizes the repository's stack for these props, the way `cdktf synth` would (minus the backend). */
export function synthStack(props: EtcdClusterProps, dockerHost?: string): TfJson {
  const app = Testing.app();
  const stack = new EtcdClusterStack(app, { cluster: props, dockerHost });
  return JSON.parse(Testing.synth(stack, true));
}

/**
 * Synthesizes the repository's stack the way `cdktf synth` writes it, and leaves in `dir` what Terraform
 * needs there: the configuration (without cdktf's local backend, so that the state stays in `dir`) and the
 * assets it names (TLS files) relative to it.
 */
export function synthStackToDir(props: EtcdClusterProps, dir: string): TfJson {
  const outdir = mkdtempSync(join(WORK_DIR, 'synth-'));
  try {
    const app = new App({ outdir, stackTraces: false });
    new EtcdClusterStack(app, { cluster: props });
    app.synth();
    const stackDir = join(outdir, 'stacks', props.name);
    const tf = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as TfJson;
    delete (tf.terraform as { backend?: unknown } | undefined)?.backend;
    rmSync(join(dir, 'assets'), { recursive: true, force: true });
    if (existsSync(join(stackDir, 'assets'))) cpSync(join(stackDir, 'assets'), join(dir, 'assets'), { recursive: true });
    return tf;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Flattens resources to `type.name` -> config. */
export function resourcesOf(tf: TfJson): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    for (const [name, config] of Object.entries(byName)) out.set(`${type}.${name}`, config);
  }
  return out;
}

/** A Terraform address without cdktf's 8-hex hash suffix, e.g. `docker_container.cluster_primary-1_container`. */
export const stableAddress = (address: string) => address.replace(/_[0-9A-F]{8}$/, '');

export function scratchDir(prefix: string): string {
  mkdirSync(WORK_DIR, { recursive: true });
  return mkdtempSync(join(WORK_DIR, `${prefix}-`));
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and collects its output; never throws on a non-zero exit. `onStderr` sees
 * stderr so far as it comes, with the process (to signal it at a given point).
 */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; onStderr?: (stderr: string, child: ChildProcess) => void } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `cdktf synth` of this repository's app on a spec text, into a fresh output directory. */
export async function cdktfSynth(specText: string | null, specName = 'cluster.yaml'): Promise<RunResult & { outDir: string; specPath: string }> {
  const dir = scratchDir('synth');
  const specPath = join(dir, specName);
  if (specText !== null) writeFileSync(specPath, specText);
  const outDir = join(dir, 'out');
  const result = await run(join(REPO_ROOT, 'node_modules', '.bin', 'cdktf'), ['synth', '--output', outDir], {
    cwd: REPO_ROOT,
    env: { ETCD_CLUSTER_CONFIG: specPath, ...QUIET_TERRAFORM_ENV, CI: 'true', FORCE_COLOR: '0' },
    timeoutMs: 120_000,
  });
  return { ...result, outDir, specPath };
}

/**
 * What a checkout of this repository holds that its cdktf app (cdktf.json, main.ts and what it imports) and
 * the stack's hooks (the package's own bin/ and dist/, found from the stack directory through package.json)
 * use; node_modules is linked, not copied.
 */
const CHECKOUT = ['cdktf.json', 'package.json', 'tsconfig.json', 'main.ts', 'index.ts', 'lib', 'constructs', 'stacks', 'scripts/run-ts.js', 'bin', 'dist'];

/** A second checkout of this repository at `dir` (made), as far as synthesizing and deploying its stack goes. */
export function copyCheckout(dir: string): string {
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  for (const f of CHECKOUT) cpSync(join(REPO_ROOT, f), join(dir, f), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
