/**
 * The one way the runtime runs Terraform (or OpenTofu: TERRAFORM_BINARY_NAME=tofu) in a stack directory:
 * `init` when the directory has not been initialized, `plan` (to a file, or with `-detailed-exitcode`),
 * `show -json`, targeted and whole applies. Each run is a child process whose output is kept, and a failure
 * is one TerraformFailed whose text says what failed and ends with Terraform's last lines. `rollout`,
 * `recover` and any new command that runs Terraform do it through a driver:
 *
 * ```ts
 * const tf = new TerraformDriver(dir, { failed: (what) => `${what}; run it again after a fix` });
 * await tf.init();
 * if ((await tf.plan()) === 'changes') await tf.apply(['-target=docker_container.x'], say);
 * ```
 *
 * With `interruptible` (a command that traps interrupts, interrupt.ts) each run is in a process group of
 * its own and gets one SIGINT when the command is interrupted, so that Terraform ends its run cleanly.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TerraformFailed } from './errors';
import { spawnInterruptible } from './interrupt';

/** The binary: `terraform`, or what TERRAFORM_BINARY_NAME names (cdktf's variable, also for OpenTofu). */
export const terraformBinary = (): string => process.env.TERRAFORM_BINARY_NAME || 'terraform';

export interface TerraformRun {
  readonly code: number;
  /** stdout and stderr, as they came. */
  readonly output: string;
  readonly stdout: string;
}

export interface DriverOptions {
  /** Runs in a process group of their own, ended by one SIGINT on an interrupt (commands that trap interrupts). */
  readonly interruptible?: boolean;
  /** How a failure reads: given "terraform apply failed", the whole first line of the error. @default as given */
  readonly failed?: (what: string) => string;
  /** A bound on each run, in milliseconds. @default 30 minutes */
  readonly timeoutMs?: number;
}

/** The last lines of a run's output: what a failure shows. */
export const lastLines = (text: string, n = 20): string => text.trim().split('\n').slice(-n).join('\n');

export class TerraformDriver {
  constructor(
    readonly dir: string,
    private readonly opts: DriverOptions = {},
  ) {}

  /**
   * One run, `-no-color` added; `progress` gets the hooks' lines (local-exec) as they come. Resolves with the
   * exit code whatever it is; throws only when the binary cannot be started.
   */
  run(args: string[], progress?: (line: string) => void): Promise<TerraformRun> {
    const bin = terraformBinary();
    return new Promise((resolve, reject) => {
      const options = { cwd: this.dir, env: process.env };
      const child = this.opts.interruptible
        ? spawnInterruptible(bin, [...args, '-no-color'], options)
        : spawn(bin, [...args, '-no-color'], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGTERM'), this.opts.timeoutMs ?? 1_800_000);
      let output = '';
      let stdout = '';
      let partial = '';
      child.stdout!.on('data', (d: Buffer) => {
        output += d;
        stdout += d;
        if (!progress) return;
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          const m = /\(local-exec\): (.*)$/.exec(line);
          if (m && m[1].trim() && !/^Executing: /.test(m[1])) progress(`  ${m[1].trim()}`);
        }
      });
      child.stderr!.on('data', (d: Buffer) => (output += d));
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new TerraformFailed(`${bin}: ${err.message}`));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, output, stdout });
      });
    });
  }

  /** A run that must succeed: else TerraformFailed, "terraform <verb> failed" as `failed` words it, and the last lines. */
  async must(args: string[], progress?: (line: string) => void, what = `terraform ${args[0]} failed`): Promise<TerraformRun> {
    const r = await this.run(args, progress);
    if (r.code !== 0) throw new TerraformFailed(`${this.opts.failed ? this.opts.failed(what) : what}:\n${lastLines(r.output)}`);
    return r;
  }

  /** `init`, when the directory has not been initialized (or always, with `always`); true when it ran. */
  async init(opts: { always?: boolean; say?: (line: string) => void } = {}): Promise<boolean> {
    if (!opts.always && existsSync(join(this.dir, '.terraform'))) return false;
    opts.say?.('terraform init');
    await this.must(['init', '-input=false']);
    return true;
  }

  /** `plan -detailed-exitcode` (with these arguments, e.g. `-out=<file>`): whether anything would change. */
  async plan(args: string[] = []): Promise<'no changes' | 'changes'> {
    const r = await this.run(['plan', '-input=false', '-detailed-exitcode', ...args]);
    if (r.code === 0) return 'no changes';
    if (r.code === 2) return 'changes';
    throw new TerraformFailed(`${this.opts.failed ? this.opts.failed('terraform plan failed') : 'terraform plan failed'}:\n${lastLines(r.output)}`);
  }

  /** `show -json` of a saved plan, parsed. */
  async showJson<T>(planFile: string): Promise<T> {
    return JSON.parse((await this.must(['show', '-json', planFile])).stdout) as T;
  }

  /** `apply -auto-approve` with these arguments (`-target=...`, `-replace=...`). */
  apply(args: string[] = [], progress?: (line: string) => void, what?: string): Promise<TerraformRun> {
    return this.must(['apply', '-input=false', '-auto-approve', ...args], progress, what);
  }
}
