/**
 * The one reader of a synthesized stack: `cdk.tf.json` in the directory Terraform runs in. Everything the CLI
 * and the runtime learn from a stack comes through here (the clusters' expectations, their network steps,
 * the containers' Terraform addresses, the bootstrap record), with one error style: a `ContractError` of one
 * line naming the directory or the file. What the hooks carry is parsed by their schemas (index.ts,
 * network.ts); the rest of the JSON is Terraform's own and read as little as possible.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ContractError, EXPECTATION_KIND, MEMBER_OP_KIND, parseExpectation, withTlsPaths, type Expectation } from './index';
import { NETWORK_DOCKER_ENV, NETWORK_KIND, parseNetwork, parseNetworkDocker, type NetworkDef, type NetworkDocker } from './network';

/** The file cdktf synthesizes into a stack directory. */
export const STACK_FILE = 'cdk.tf.json';

/** A container as the stack creates it. */
export interface StackContainer {
  /** `docker_container.<key>` */
  readonly address: string;
  readonly name: string;
  readonly image: string;
  readonly command: string[];
}

/** The Docker objects of a cluster, by name. */
export interface StackObjects {
  readonly containers: string[];
  readonly volumes: string[];
  readonly networks: string[];
}

/** A network step of the stack and the Docker host its provisioners name (undefined: the default). */
export interface StackNetwork {
  readonly def: NetworkDef;
  readonly docker?: NetworkDocker;
}

type Resource = Record<string, unknown>;
interface TfJson {
  resource?: Record<string, Record<string, Resource>>;
  terraform?: { backend?: Record<string, { path?: string }> };
}

const kindOf = (v: unknown) => (v && typeof v === 'object' ? (v as { kind?: unknown }).kind : undefined);

export class SynthesizedStack {
  /** Whether `dir` holds a synthesized stack at all. */
  static exists(dir: string): boolean {
    return existsSync(join(dir, STACK_FILE));
  }

  /** The stack in `dir`; one line when there is none or it is not JSON. */
  static read(dir: string): SynthesizedStack {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ContractError(`--stack: ${dir} is not a directory (run cdktf synth first)`);
    const file = join(dir, STACK_FILE);
    if (!existsSync(file)) throw new ContractError(`--stack: ${dir} holds no ${STACK_FILE} (run cdktf synth first)`);
    let json: TfJson;
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as TfJson;
    } catch (e) {
      throw new ContractError(`${file}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
    }
    return new SynthesizedStack(dir, file, json);
  }

  private constructor(
    readonly dir: string,
    /** `<dir>/cdk.tf.json`, as errors name it. */
    readonly file: string,
    private readonly json: TfJson,
  ) {}

  /** The resources of one Terraform type, by key. */
  private of(type: string): [string, Resource][] {
    return Object.entries(this.json.resource?.[type] ?? {}).filter(([, r]) => r && typeof r === 'object');
  }

  /** Whether the stack holds any cluster's verification hook. */
  holdsCluster(): boolean {
    return this.of('terraform_data').some(([, r]) => kindOf(r.input) === EXPECTATION_KIND);
  }

  /** Every cluster's expectation (its verify hook's input), TLS files resolved against the stack directory, where Terraform (and so the hook) runs. */
  expectations(): Expectation[] {
    const hooks = this.of('terraform_data').filter(([, r]) => kindOf(r.input) === EXPECTATION_KIND);
    if (hooks.length === 0) throw new ContractError(`${this.file}: holds no etcd cluster verification hook (was verify.enabled false?)`);
    const inStack = (p: string) => (isAbsolute(p) ? p : join(this.dir, p));
    return hooks.map(([, h]) => withTlsPaths(parseExpectation(h.input, this.file), inStack));
  }

  /** The expectation of the cluster named `cluster`; one line when the stack holds no such cluster. */
  expectation(cluster: string): Expectation {
    const all = this.expectations();
    const found = all.find((e) => e.target.cluster === cluster);
    if (!found) throw new ContractError(`${this.file}: holds no cluster ${cluster} (found: ${all.map((e) => e.target.cluster).join(', ')})`);
    return found;
  }

  /** Every network step, with its Docker host. */
  networks(): StackNetwork[] {
    const steps = this.of('terraform_data').filter(([, r]) => kindOf(r.triggers_replace) === NETWORK_KIND);
    if (!steps.length) throw new ContractError(`${this.file}: holds no network of an etcd cluster`);
    return steps.map(([, r]) => {
      const env = (r.provisioner as { 'local-exec'?: { environment?: Record<string, string> } }[] | undefined)?.[0]?.['local-exec']?.environment ?? {};
      return { def: parseNetwork(JSON.stringify(r.triggers_replace), this.file), docker: parseNetworkDocker(env[NETWORK_DOCKER_ENV], this.file) };
    });
  }

  /** The container named `name` (a member's name is its container's); one line when there is none. */
  container(name: string): StackContainer {
    const found = this.of('docker_container').find(([, c]) => c.name === name);
    if (!found) throw new ContractError(`${this.file}: no container named ${name}`);
    const [key, c] = found;
    return { address: `docker_container.${key}`, name, image: String(c.image ?? ''), command: (c.command as string[] | undefined) ?? [] };
  }

  /**
   * `terraform_data.<key>` of the cluster's bootstrap record, when the stack has one. The membership records
   * have fixed addresses, `<stem>_primary-<i>_member`: the stem names the cluster's other resources too.
   */
  bootstrapAddress(cluster: string): string | undefined {
    const data = this.of('terraform_data');
    const record = data.find(([key, r]) => {
      const input = r.input as { kind?: string; target?: { cluster?: string } } | undefined;
      return key.endsWith('_member') && input?.kind === MEMBER_OP_KIND && input.target?.cluster === cluster;
    });
    const stem = record?.[0].replace(/_primary-\d+_member$/, '');
    const key = stem ? data.map(([k]) => k).find((k) => k.startsWith(`${stem}_bootstrap`)) : undefined;
    return key ? `terraform_data.${key}` : undefined;
  }

  /**
   * The state file of a local backend (the default when the stack names no backend), resolved against the
   * stack directory; null when the stack keeps its state in another backend.
   */
  localStateFile(): string | null {
    const backend = this.json.terraform?.backend ?? {};
    const [kind, config] = Object.entries(backend)[0] ?? ['local', {}];
    if (kind !== 'local') return null;
    const path = config?.path ?? 'terraform.tfstate';
    return isAbsolute(path) ? path : join(this.dir, path);
  }

  /**
   * The containers and volumes whose labels carry `label` = `value` (a cluster's, by the naming contract's
   * label), and the networks its network steps make: everything of it the stack creates on a Docker host.
   */
  objectsLabelled(label: string, value: string): StackObjects {
    const labelled = (type: string) =>
      this.of(type)
        .filter(([, r]) => ((r.labels as { label?: string; value?: string }[] | undefined) ?? []).some((l) => l.label === label && l.value === value))
        .map(([, r]) => String(r.name));
    const networks = this.of('terraform_data')
      .map(([, r]) => r.triggers_replace as { kind?: string; cluster?: string; name?: string } | undefined)
      .filter((t) => t?.kind === NETWORK_KIND && t.cluster === value && t.name)
      .map((t) => t!.name!);
    return { containers: labelled('docker_container'), volumes: labelled('docker_volume'), networks: [...new Set(networks)] };
  }
}
