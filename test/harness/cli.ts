/**
 * What several suites ran each in their own copy: the repository's `etcd-cluster` as a user runs it, the
 * colours stripped from a tool's output, a Terraform run that must fail, and "nothing to change" read from
 * Terraform's exit code rather than from the text a tool prints.
 */
import { join } from 'node:path';
import { REPO_ROOT, run, type RunResult } from '../helpers/synth';
import { ApplyFailed, TERRAFORM } from './deployment';

/** The repository's command line, as `npx etcd-cluster` runs it. */
export const BIN = join(REPO_ROOT, 'bin', 'etcd-cluster.js');

/** `etcd-cluster <args>` under this Node. */
export function etcdCluster(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], opts);
}

/** A tool's output without its terminal colours. */
export const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''); // eslint-disable-line no-control-regex

/**
 * The ApplyFailed a Terraform run must end with. Passing, or failing with anything else (a harness bug, a
 * timeout), fails the test here: a refusal that is asserted only on "some error" proves nothing.
 */
export async function applyFailure(attempt: Promise<unknown>, what = 'the apply'): Promise<ApplyFailed> {
  try {
    await attempt;
  } catch (e) {
    if (e instanceof ApplyFailed) return e;
    throw e;
  }
  throw new Error(`${what} passed; it should have failed`);
}

/**
 * `terraform plan -detailed-exitcode` in a stack directory that cdktf (or cdktn) has initialized: 0 when
 * nothing would change, 2 when something would, 1 on an error. `cdktf diff` exits 0 either way (cdktf-cli
 * 0.21 runs `terraform plan` without -detailed-exitcode), so its "No changes" text is no proof on its own.
 */
export async function planExitCode(stackDir: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  const r = await run(TERRAFORM, ['plan', '-input=false', '-detailed-exitcode', '-lock-timeout=60s', '-no-color'], { cwd: stackDir, env, timeoutMs: 600_000 });
  return { code: r.code, output: stripAnsi(r.stdout + r.stderr) };
}
