/**
 * One cluster under test: synthesizes the repository's stack for a spec, deploys it with real Terraform and
 * the real Docker provider, and tears everything down, even after a failure.
 */
import type { ChildProcess } from 'node:child_process';
import type { Etcd3 } from 'etcd3';
import { connect } from '../../lib/runtime/etcd-client';
import type { ExpectationMessage } from '../../lib/contract';
import { buildTopology, expectationOf, LABEL_CLUSTER, validateSpec, type EtcdClusterProps, type Topology } from '../../lib/model';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as YAML from 'yaml';
import { join, resolve } from 'node:path';
import { REPO_ROOT, run, scratchDir, synthStackToDir, type RunResult, type TfJson } from '../helpers/synth';
import { Deployment, type Action } from './deployment';
import type { DockerApi } from './docker-api';
import { clusterName, freePortRange, TEST_IMAGE } from './env';

export type Overrides = Omit<EtcdClusterProps, 'name'>;

export interface TestClusterOptions {
  /** Name prefix: 'it' for tests (the default), 'bn' for benchmarks. */
  readonly namePrefix?: string;
  /** Environment of Terraform, and so of the hooks (e.g. the root password). */
  readonly hookEnv?: NodeJS.ProcessEnv;
}

export class TestCluster {
  readonly deployment: Deployment;
  readonly workDir: string;
  private tornDown = false;
  readonly log: string[] = [];
  private props: EtcdClusterProps;

  private constructor(
    readonly name: string,
    props: EtcdClusterProps,
    opts: TestClusterOptions,
  ) {
    this.props = props;
    this.workDir = scratchDir(name);
    this.deployment = new Deployment({ workDir: this.workDir, log: (l) => this.say(l), env: opts.hookEnv });
  }

  /** A cluster with its own name and free ports; the image is the locally built one. */
  static async create(suffix: string, overrides: Overrides = {}, opts: TestClusterOptions = {}): Promise<TestCluster> {
    const name = clusterName(suffix, opts.namePrefix);
    const primaryBase = await freePortRange(9);
    const secondaryBase = await freePortRange(30);
    return new TestCluster(
      name,
      {
        image: TEST_IMAGE,
        ...overrides,
        name,
        ports: { primaryBase, secondaryBase, ...overrides.ports },
        verify: { timeoutSeconds: 60, ...overrides.verify },
      },
      opts,
    );
  }

  say(line: string): void {
    this.log.push(line);
    process.stdout.write(`[${this.name}] ${line}\n`);
  }

  get spec(): EtcdClusterProps {
    return this.props;
  }

  get topology(): Topology {
    return buildTopology(validateSpec(this.props));
  }

  get expectation(): ExpectationMessage {
    return expectationOf(this.topology);
  }

  /** The stack for the spec with these changes, as `cdktf synth` writes it, its assets in the deployment's directory. */
  synth(changes: Overrides = {}): TfJson {
    return synthStackToDir({ ...this.props, ...changes, name: this.name }, this.deployment.dir);
  }

  /** A stack directory (cdk.tf.json and its assets) for the spec with these changes, as `--stack` takes it. */
  stackDir(changes: Overrides = {}, edit?: (tf: TfJson) => void): string {
    const dir = join(this.workDir, 'stack');
    mkdirSync(dir, { recursive: true });
    const tf = synthStackToDir({ ...this.props, ...changes, name: this.name }, dir);
    edit?.(tf);
    writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(tf, null, 2));
    return dir;
  }

  /** Applies the spec with these changes (kept for later applies); returns the actions taken. */
  async apply(changes: Overrides = {}, edit?: (tf: TfJson) => void): Promise<Action[]> {
    this.props = { ...this.props, ...changes };
    const tf = this.synth();
    edit?.(tf);
    return this.deployment.apply(tf);
  }

  /**
   * `etcd-cluster rollout` of the spec with these changes (kept for later applies), as a user runs it on the
   * synthesized stack: the real CLI, Terraform in the deployment's directory. It shows the plan and asks
   * first; a script answers with `--yes`, which this passes unless `yes` is false (then, with no terminal
   * here, it refuses and changes nothing).
   */
  async rollout(changes: Overrides = {}, args: string[] = [], { yes = true }: { yes?: boolean } = {}): Promise<RunResult> {
    this.props = { ...this.props, ...changes };
    this.deployment.write(this.synth());
    await this.deployment.init();
    const cli = [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'rollout', '--stack', this.deployment.dir, ...(yes ? ['--yes'] : []), ...args];
    const r = await run(process.execPath, cli, {
      env: this.deployment.env,
      timeoutMs: 1_800_000,
    });
    this.say(`etcd-cluster rollout exited ${r.code}:\n${r.stderr.trim()}`);
    await this.deployment.refresh();
    return r;
  }

  /**
   * `etcd-cluster recover`, as a user runs it with the spec in a file: the spec written as YAML into the
   * work directory, the real CLI with `--stack` (the deployment's directory) and `--spec`, and `--synth`
   * re-synthesizing the stack from the changed spec. The spec as recover left it is kept for later applies.
   */
  async recover(
    args: string[] = [],
    env: NodeJS.ProcessEnv = {},
    onStderr?: (stderr: string, child: ChildProcess) => void,
  ): Promise<RunResult & { spec: string }> {
    const specFile = join(this.workDir, 'cluster.yaml');
    if (!existsSync(specFile)) writeFileSync(specFile, YAML.stringify(this.props));
    await this.deployment.init();
    const synth = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(REPO_ROOT, 'test', 'harness', 'synth-spec.js'))} ${JSON.stringify(specFile)} ${JSON.stringify(this.deployment.dir)}`;
    const r = await run(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'recover', '--stack', this.deployment.dir, '--spec', specFile, '--synth', synth, ...args],
      { env: { ...this.deployment.env, ...env }, timeoutMs: 1_800_000, onStderr },
    );
    this.say(`etcd-cluster recover ${args.join(' ')} exited ${r.code}:\n${r.stderr.trim()}`);
    const spec = readFileSync(specFile, 'utf8');
    const props = YAML.parse(spec) as EtcdClusterProps;
    // A restored snapshot is named relative to the spec file.
    this.props = props.restore ? { ...props, restore: { ...props.restore, snapshot: resolve(this.workDir, props.restore.snapshot) } } : props;
    await this.deployment.refresh();
    return { ...r, spec };
  }

  /** The machine's Docker engine. */
  get docker(): DockerApi {
    return this.deployment.docker;
  }

  /** A one-try client for these endpoints (default: every primary), with the cluster's TLS material. */
  client(endpoints: string | string[] = this.topology.primaries.map((p) => p.hostClientUrl)): Etcd3 {
    return connect(endpoints, { timeoutMs: 3000, tls: this.expectation.target.tls });
  }

  /** The live member of this name (undefined when there is none), as primary 1 lists it. */
  async member(name: string) {
    const c = this.client(this.topology.primaries[0].hostClientUrl);
    try {
      return (await c.cluster.memberList({ linearizable: true })).members.find((m) => m.name === name);
    } finally {
      c.close();
    }
  }

  /** Destroys everything; then sweeps anything still labelled with this cluster's name. Again: nothing. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    let error: unknown;
    try {
      await this.deployment.destroy();
    } catch (e) {
      error = e;
    }
    const d = this.deployment.docker;
    const mine = (labels: Record<string, string> | null | undefined) => labels?.[LABEL_CLUSTER] === this.name;
    for (const c of (await d.listByLabel('containers', LABEL_CLUSTER)).filter((x) => mine(x.Labels))) await d.removeContainer(c.Id);
    for (const v of (await d.listByLabel('volumes', LABEL_CLUSTER)).filter((x) => mine(x.Labels))) await d.removeVolume(v.Name);
    for (const n of (await d.listByLabel('networks', LABEL_CLUSTER)).filter((x) => mine(x.Labels))) await d.removeNetwork(n.Id);
    if (error) throw error;
    // Destroyed cleanly: its stack and state are of no more use. A failed destroy keeps them to look at.
    rmSync(this.workDir, { recursive: true, force: true });
    this.tornDown = true;
  }
}

/** Retries `fn` until it returns without throwing, or the time is up (then throws the last error). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 30_000, stepMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
