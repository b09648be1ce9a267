/**
 * A Terraform working directory holding one synthesized stack, deployed the way a user deploys it: real
 * Terraform, the real kreuzwerker/docker provider (from the local mirror scripts/provider-mirror.sh fills),
 * the hooks in the same apply. Each apply is `terraform plan -out` (whose JSON says what will change),
 * then `terraform apply` of that plan.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerApi } from './docker-api';
import { QUIET_TERRAFORM_ENV, REPO_ROOT, run, stableAddress, type RunResult, type TfJson } from '../helpers/synth';

export type ActionKind = 'create' | 'destroy' | 'replace' | 'update' | 'keep';
export interface Action {
  readonly kind: ActionKind;
  readonly address: string;
}

/** The Terraform binary: `terraform`, or what TERRAFORM_BINARY_NAME names (cdktf's own variable), e.g. `tofu`. */
export const TERRAFORM = process.env.TERRAFORM_BINARY_NAME || 'terraform';
/** Providers are installed once per checkout and linked into every working directory. */
export const PLUGIN_CACHE = join(REPO_ROOT, '.work', 'plugin-cache');
/**
 * The plugin cache as the suites share it. Without a lock file (every fresh work directory) Terraform 1.4+
 * installs the provider into the cache again, removing the cached copy first, while the suites running beside
 * it execute that copy through their links: their apply fails with "could not read package directory" (seen
 * in CI). With TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE a cached provider is linked as it is; the
 * provider comes from our own local mirror, so the lock file's checksums guard nothing here.
 */
export const PLUGIN_CACHE_ENV = { TF_PLUGIN_CACHE_DIR: PLUGIN_CACHE, TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: 'true' };

/** A Terraform run that failed: at plan (a condition, a refused config) or at apply (a hook, the provider). */
export class ApplyFailed extends Error {
  constructor(
    message: string,
    /** Everything Terraform printed. */
    public readonly output: string,
    public readonly stage: 'plan' | 'apply',
  ) {
    super(message);
  }
}

/** The sorted addresses (without cdktf's hash suffix) of the actions of one kind. */
export const addressesOf = (actions: Action[], kind: ActionKind) =>
  actions
    .filter((a) => a.kind === kind)
    .map((a) => stableAddress(a.address))
    .sort();

interface PlanJson {
  resource_changes?: { address: string; mode: string; change: { actions: string[] } }[];
}

function kindOf(actions: string[]): ActionKind | undefined {
  const a = actions.join(',');
  if (a === 'no-op') return 'keep';
  if (a === 'create') return 'create';
  if (a === 'delete') return 'destroy';
  if (a === 'update') return 'update';
  if (a === 'delete,create' || a === 'create,delete') return 'replace';
  return undefined; // read, forget
}

export function actionsOf(plan: PlanJson): Action[] {
  return (plan.resource_changes ?? [])
    .filter((r) => r.mode === 'managed')
    .flatMap((r) => {
      const kind = kindOf(r.change.actions);
      return kind ? [{ kind, address: r.address }] : [];
    });
}

export interface DeploymentOptions {
  readonly workDir: string;
  /** Extra environment for Terraform, and so for the hooks (e.g. the root password). */
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

export class Deployment {
  /** The machine's own engine (simulated hosts have their own). */
  readonly docker = new DockerApi();
  /** Everything Terraform printed in its last run. */
  lastOutput = '';
  /** Every apply's output, in order. */
  readonly outputs: string[] = [];
  private initDone = false;
  private ids = new Map<string, string>();
  private readonly log: (line: string) => void;

  constructor(private readonly opts: DeploymentOptions) {
    this.log = opts.log ?? (() => undefined);
    mkdirSync(opts.workDir, { recursive: true });
  }

  get dir(): string {
    return this.opts.workDir;
  }

  /** The environment Terraform runs with here (and so whatever runs Terraform for us, like `etcd-cluster rollout`). */
  get env(): NodeJS.ProcessEnv {
    mkdirSync(PLUGIN_CACHE, { recursive: true });
    return { ...QUIET_TERRAFORM_ENV, ...PLUGIN_CACHE_ENV, ...this.opts.env };
  }

  terraform(args: string[], timeoutMs = 900_000): Promise<RunResult> {
    return run(TERRAFORM, [...args, '-no-color'], { cwd: this.opts.workDir, env: this.env, timeoutMs });
  }

  /** Writes the configuration Terraform will read. */
  write(tf: TfJson): void {
    writeFileSync(join(this.opts.workDir, 'cdk.tf.json'), JSON.stringify(tf, null, 2));
  }

  async init(): Promise<void> {
    if (this.initDone) return;
    let r = await this.terraform(['init', '-input=false']);
    // Terraform's plugin cache is not safe for two inits at once (the suites run two at a time): the loser
    // reports the provider "still not detected" in the cache. The cache is whole again after the winner's
    // init; the same init once more finds it there.
    for (let i = 0; i < 3 && r.code !== 0 && /still not detected in|Failed to install provider/.test(r.stdout + r.stderr); i++) {
      await new Promise((done) => setTimeout(done, 2000));
      r = await this.terraform(['init', '-input=false']);
    }
    if (r.code !== 0) throw new ApplyFailed(`terraform init failed:\n${tail(r.stdout + r.stderr, 30)}`, r.stdout + r.stderr, 'plan');
    this.initDone = true;
  }

  /** `terraform plan` of this configuration: the actions, and Terraform's exit code (-detailed-exitcode: 0 no changes, 2 changes). */
  async plan(tf?: TfJson, extra: string[] = []): Promise<{ code: number; actions: Action[]; output: string }> {
    if (tf) this.write(tf);
    await this.init();
    const planFile = join(this.opts.workDir, 'plan.tfplan');
    const r = await this.terraform(['plan', '-input=false', '-detailed-exitcode', `-out=${planFile}`, ...extra]);
    const output = r.stdout + r.stderr;
    if (r.code === 1) {
      this.lastOutput = output;
      throw new ApplyFailed(`terraform plan failed:\n${tail(output, 40)}`, output, 'plan');
    }
    const show = await this.terraform(['show', '-json', planFile]);
    if (show.code !== 0) throw new Error(`terraform show failed: ${tail(show.stdout + show.stderr)}`);
    return { code: r.code, actions: actionsOf(JSON.parse(show.stdout) as PlanJson), output };
  }

  /** Plans and applies this configuration; returns what the plan said would change. */
  async apply(tf: TfJson): Promise<Action[]> {
    const { actions } = await this.plan(tf);
    for (const a of actions) if (a.kind !== 'keep') this.log(`terraform: ${a.kind} ${a.address}`);
    const r = await this.terraform(['apply', '-input=false', '-auto-approve', join(this.opts.workDir, 'plan.tfplan')]);
    this.lastOutput = r.stdout + r.stderr;
    this.outputs.push(this.lastOutput);
    await this.readState();
    if (r.code !== 0) throw new ApplyFailed(`terraform apply failed:\n${tail(this.lastOutput, 40)}`, this.lastOutput, 'apply');
    return actions;
  }

  /** Container IDs by name, as Terraform's state records them. */
  /** Reads Terraform's state again (after something else applied here). */
  async refresh(): Promise<void> {
    await this.readState();
  }

  private async readState(): Promise<void> {
    const r = await this.terraform(['show', '-json']);
    if (r.code !== 0) return;
    const state = JSON.parse(r.stdout) as { values?: { root_module?: { resources?: { type: string; values: { name?: string; id?: string } }[] } } };
    this.ids = new Map((state.values?.root_module?.resources ?? []).filter((x) => x.type === 'docker_container').map((x) => [x.values.name!, x.values.id!]));
  }

  /** The Docker ID of the container of this name in Terraform's state after the last apply. */
  containerId(name: string): string | undefined {
    return this.ids.get(name);
  }

  /** `terraform destroy` of whatever the state holds. */
  async destroy(): Promise<void> {
    if (!this.initDone) return;
    // A test may end with a spec whose image the upgrade check refuses (the verify hook runs it when
    // destroyed too): teardown skips it, as the README tells users to for such a destroy.
    const r = await run(TERRAFORM, ['destroy', '-input=false', '-auto-approve', '-no-color'], {
      cwd: this.opts.workDir,
      env: { ...this.env, ETCD_CLUSTER_SKIP_UPGRADE_CHECK: '1' },
      timeoutMs: 900_000,
    });
    this.lastOutput = r.stdout + r.stderr;
    if (r.code !== 0) throw new ApplyFailed(`terraform destroy failed:\n${tail(this.lastOutput, 30)}`, this.lastOutput, 'apply');
  }

  /** The configuration last written. */
  config(): TfJson {
    return JSON.parse(readFileSync(join(this.opts.workDir, 'cdk.tf.json'), 'utf8')) as TfJson;
  }
}

export function tail(text: string, n = 15): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
