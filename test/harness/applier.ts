/**
 * A strict, test-side stand-in for `terraform apply` with the kreuzwerker/docker 3.6.2 provider.
 *
 * The provider cannot be downloaded here, so this applies a synthesized `cdk.tf.json` to the real engine
 * through the Docker API, the way the provider would: in dependency order, a second synthesis as a diff
 * (create, destroy, replace), and everything destroyed on teardown. It implements only the resource types
 * and attributes it knows and throws on anything else, so it cannot drift silently from what the library
 * emits. `terraform_data` resources are run by real Terraform in a directory that holds only them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QUIET_TERRAFORM_ENV, run, stableAddress, type TfJson } from '../helpers/synth';
import { DockerApi } from './docker-api';

export type ActionKind = 'create' | 'destroy' | 'replace' | 'update' | 'keep';
export interface Action {
  readonly kind: ActionKind;
  readonly address: string;
}

type Config = Record<string, unknown>;
interface Resource {
  readonly address: string;
  readonly type: string;
  readonly config: Config;
  /** Addresses this resource needs first: references and depends_on. */
  readonly deps: string[];
  /** Addresses whose attributes it references: their replacement replaces it too (depends_on alone does not). */
  readonly refs: string[];
  /** The engine its provider points at (Docker resources only). */
  readonly engine?: DockerApi;
}
interface Applied {
  readonly resource: Resource;
  /** Attributes other resources may reference, e.g. image_id, name, id. */
  readonly attrs: Record<string, string>;
}

export class ApplierError extends Error {}

/** The sorted addresses (without cdktf's hash suffix) of the actions of one kind. */
export const addressesOf = (actions: Action[], kind: ActionKind) =>
  actions
    .filter((a) => a.kind === kind)
    .map((a) => stableAddress(a.address))
    .sort();

const REF = /^\$\{([a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/;
const ANY_REF = /\$\{([a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}/g;

/** Attributes implemented, per type; nested blocks list their own. Anything else is an error. */
const SCHEMA: Record<string, Record<string, true | Record<string, true>>> = {
  docker_network: { provider: true, name: true, driver: true, labels: { label: true, value: true }, ipam_config: { subnet: true, gateway: true }, depends_on: true },
  docker_volume: { provider: true, name: true, driver: true, labels: { label: true, value: true }, depends_on: true },
  docker_image: { provider: true, name: true, keep_locally: true, depends_on: true },
  docker_container: {
    provider: true,
    name: true,
    image: true,
    command: true,
    entrypoint: true,
    env: true,
    hostname: true,
    restart: true,
    must_run: true,
    start: true,
    memory: true,
    labels: { label: true, value: true },
    networks_advanced: { name: true, aliases: true, ipv4_address: true },
    ports: { internal: true, external: true, ip: true, protocol: true },
    volumes: { volume_name: true, container_path: true, read_only: true },
    healthcheck: { test: true, interval: true, timeout: true, start_period: true, retries: true },
    upload: { file: true, source: true, source_hash: true, permissions: true },
    depends_on: true,
  },
  terraform_data: { triggers_replace: true, input: true, provisioner: true, depends_on: true, lifecycle: true },
  // (top-level `removed` blocks are checked in parse())
};

/** Go duration ("1m30s", "500ms") to nanoseconds, as the provider sends it. */
export function goDurationNs(text: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== text.length || !text) throw new ApplierError(`applier: "${text}" is not a Go duration`);
  return Math.round(total);
}

function stripMeta(config: Config): Config {
  const { ['//']: _meta, ...rest } = config;
  return rest;
}

const labelsOf = (list: unknown): Record<string, string> =>
  Object.fromEntries(((list as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]));

export interface ApplierOptions {
  /** Scratch directory of this cluster (Terraform runs the hooks in `<workDir>/hooks`). */
  readonly workDir: string;
  readonly docker?: DockerApi;
  /** Published ports must bind one of these addresses. @default ['127.0.0.1'] */
  readonly allowedBindAddresses?: string[];
  readonly log?: (line: string) => void;
  /** Extra environment for Terraform (and so for the hooks' provisioners). */
  readonly hookEnv?: NodeJS.ProcessEnv;
  /** Further engines, by the provider `host` that names them (`unix://<socket>`): aliased providers may point there. */
  readonly engines?: Record<string, DockerApi>;
}

export class DockerApplier {
  readonly docker: DockerApi;
  private readonly state = new Map<string, Applied>();
  /** Hooks whose last Terraform run failed: Terraform tainted them and will replace them next time. */
  private readonly taintedHooks = new Set<string>();
  private readonly hookDir: string;
  private hookInitDone = false;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ApplierOptions) {
    this.docker = opts.docker ?? new DockerApi();
    this.hookDir = join(opts.workDir, 'hooks');
    this.log = opts.log ?? (() => undefined);
  }

  /** The Docker ID of a container created from this config. */
  containerId(name: string): string | undefined {
    for (const a of this.state.values()) if (a.resource.type === 'docker_container' && a.attrs.name === name) return a.attrs.id;
    return undefined;
  }

  /** Applies a synthesized config; with state from an earlier apply, as a diff. Returns every action taken. */
  async apply(tf: TfJson): Promise<Action[]> {
    const desired = this.parse(tf);
    // Terraform plans everything before it changes anything: conditions on hooks (the bootstrap record's
    // postcondition) refuse a deploy before any container is touched. A first deploy has nothing known to check.
    if ([...this.state.values()].some((a) => a.resource.type === 'terraform_data')) await this.planHooks(desired);
    const actions = this.plan(desired);
    const byKind = (k: ActionKind) => actions.filter((a) => a.kind === k).map((a) => a.address);
    const goingAway = new Set([...byKind('destroy'), ...byKind('replace')]);
    const coming = new Set([...byKind('create'), ...byKind('replace')]);

    // Destroy: dependents first (deepest level of the old graph first); hooks before what they depend on.
    const oldLevels = levels([...this.state.values()].map((a) => a.resource));
    for (const wave of [...oldLevels].reverse()) {
      const leaving = wave.filter((r) => goingAway.has(r.address));
      const hooks = leaving.filter((r) => r.type === 'terraform_data');
      if (hooks.length) await this.runHooks(new Set(hooks.map((h) => h.address)), new Set());
      for (const r of leaving.filter((x) => x.type !== 'terraform_data')) await this.destroyOne(r.address);
      for (const h of hooks) this.state.delete(h.address);
    }

    // Create: dependencies first.
    const deferred = new Set<string>();
    for (const wave of levels([...desired.values()])) {
      const arriving = wave.filter((r) => coming.has(r.address));
      for (const r of arriving.filter((x) => x.type !== 'terraform_data')) await this.createOne(r);
      const hooks = wave.filter((r) => r.type === 'terraform_data' && (coming.has(r.address) || this.taintedHooks.has(r.address)));
      for (const h of hooks) {
        this.state.set(h.address, { resource: h, attrs: {} });
        deferred.add(h.address);
      }
      // Hooks without provisioners are no-ops: they ride along with the next Terraform run (a real deploy
      // runs one apply for everything; this keeps the harness from adding a run per such wave).
      if (hooks.some((h) => h.config.provisioner !== undefined)) {
        await this.runHooks(new Set(), deferred);
        deferred.clear();
      }
    }
    if (deferred.size) await this.runHooks(new Set(), deferred);
    return actions;
  }

  /** `terraform init` of the hooks' directory, ahead of the first apply (a real deploy has it done). */
  async init(): Promise<void> {
    if (this.hookInitDone) return;
    mkdirSync(this.hookDir, { recursive: true });
    writeFileSync(join(this.hookDir, 'main.tf.json'), '{}');
    const init = await this.terraform(['init', '-input=false', '-no-color']);
    if (init.code !== 0) throw new ApplierError(`applier: terraform init failed: ${lastLines(init.stdout + init.stderr)}`);
    this.hookInitDone = true;
  }

  /** Destroys everything this applier created, dependents first. Never throws before trying all. */
  async destroyAll(): Promise<void> {
    const errors: string[] = [];
    const hooks = [...this.state.values()].filter((a) => a.resource.type === 'terraform_data');
    if (hooks.length && this.hookInitDone) {
      const r = await this.terraform(['destroy', '-auto-approve', '-input=false', '-no-color']);
      if (r.code !== 0) errors.push(`terraform destroy: ${lastLines(r.stdout + r.stderr)}`);
    }
    for (const h of hooks) this.state.delete(h.resource.address);
    for (const wave of levels([...this.state.values()].map((a) => a.resource)).reverse()) {
      for (const r of wave) {
        try {
          await this.destroyOne(r.address);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    }
    if (errors.length) throw new ApplierError(`applier: teardown left errors: ${errors.join('; ')}`);
  }

  // ---- parsing and planning ----

  private parse(tf: TfJson): Map<string, Resource> {
    for (const key of Object.keys(tf)) {
      if (!['//', 'provider', 'resource', 'terraform', 'output', 'removed'].includes(key)) {
        throw new ApplierError(`applier: top-level "${key}" is not implemented`);
      }
    }
    // Providers: the default one must be this engine; aliased ones must name an engine the harness was given.
    const providers = new Map<string, DockerApi>([['docker', this.docker]]);
    for (const [name, blocks] of Object.entries(tf.provider ?? {})) {
      if (name !== 'docker') throw new ApplierError(`applier: provider "${name}" is not implemented`);
      for (const block of blocks as Config[]) {
        for (const k of Object.keys(block)) {
          if (k !== 'host' && k !== 'alias') throw new ApplierError(`applier: provider docker attribute "${k}" is not implemented`);
        }
        const host = block.host as string | undefined;
        const alias = block.alias as string | undefined;
        const engine = host === undefined || host === `unix://${this.docker.socketPath}` ? this.docker : this.opts.engines?.[host];
        if (!engine) throw new ApplierError(`applier: provider docker${alias ? `.${alias}` : ''} host ${String(host)} is not an engine of this harness`);
        providers.set(alias ? `docker.${alias}` : 'docker', engine);
      }
    }
    // `removed` blocks: only for hooks (Terraform runs them in the hooks' directory).
    const removed = ((tf as { removed?: Config[] }).removed ?? []).map((b) => {
      for (const k of Object.keys(b)) if (!['from', 'lifecycle', 'provisioner'].includes(k)) throw new ApplierError(`applier: removed block attribute "${k}" is not implemented`);
      if (typeof b.from !== 'string' || !b.from.startsWith('terraform_data.')) throw new ApplierError(`applier: removed blocks are implemented for terraform_data only (from ${String(b.from)})`);
      return b;
    });
    this.removedBlocks = removed;
    const out = new Map<string, Resource>();
    for (const [type, byName] of Object.entries(tf.resource ?? {})) {
      const schema = SCHEMA[type];
      if (!schema) throw new ApplierError(`applier: resource type ${type} is not implemented`);
      for (const [name, raw] of Object.entries(byName)) {
        const address = `${type}.${name}`;
        const config = stripMeta(raw);
        checkAttributes(address, config, schema);
        const refs = new Set<string>();
        walkStrings(type === 'terraform_data' ? { ...config, provisioner: undefined } : config, (s) => {
          if (!s.includes('${')) return;
          if (type !== 'terraform_data' && !REF.test(s)) throw new ApplierError(`applier: ${address}: expression ${s} is not implemented (only whole \${type.name.attr} references)`);
          for (const m of s.matchAll(ANY_REF)) refs.add(`${m[1]}.${m[2]}`);
        });
        const deps = new Set<string>([...((config.depends_on as string[] | undefined) ?? []), ...refs]);
        const providerRef = (config.provider as string | undefined) ?? 'docker';
        const engine = providers.get(providerRef);
        if (type !== 'terraform_data' && !engine) throw new ApplierError(`applier: ${address}: provider ${providerRef} is not declared`);
        out.set(address, { address, type, config, deps: [...deps], refs: [...refs], engine: type === 'terraform_data' ? undefined : engine });
      }
    }
    for (const r of out.values()) {
      for (const d of r.deps) if (!out.has(d)) throw new ApplierError(`applier: ${r.address} depends on ${d}, which the config does not declare`);
      if (r.type === 'terraform_data') {
        walkStrings(r.config, (s) => {
          for (const m of s.matchAll(ANY_REF)) {
            if (m[1] !== 'self' && m[1] !== 'terraform_data') throw new ApplierError(`applier: ${r.address}: hooks may not reference ${m[1]} (Terraform runs them alone)`);
          }
        });
      }
    }
    return out;
  }

  private plan(desired: Map<string, Resource>): Action[] {
    const actions: Action[] = [];
    const replaced = new Set<string>();
    for (const address of [...this.state.keys()]) if (!desired.has(address)) actions.push({ kind: 'destroy', address });
    for (const wave of levels([...desired.values()])) {
      for (const r of wave) {
        const old = this.state.get(r.address);
        if (!old) actions.push({ kind: 'create', address: r.address });
        else if (needsReplacement(old.resource, r) || r.refs.some((d) => replaced.has(d))) {
          replaced.add(r.address);
          actions.push({ kind: 'replace', address: r.address });
        } else if (JSON.stringify(old.resource.config) !== JSON.stringify(r.config)) {
          // Terraform updates a terraform_data's input in place (no provisioner runs); nothing else changes.
          this.state.set(r.address, { ...old, resource: r });
          actions.push({ kind: 'update', address: r.address });
        } else actions.push({ kind: 'keep', address: r.address });
      }
    }
    for (const a of actions) if (a.kind !== 'keep') this.log(`applier: ${a.kind} ${a.address}`);
    return actions;
  }

  // ---- Docker resources ----

  private resolve(value: unknown, address: string): unknown {
    if (typeof value === 'string') {
      const m = REF.exec(value);
      if (!m) return value;
      const target = this.state.get(`${m[1]}.${m[2]}`);
      const attr = target?.attrs[m[3]];
      if (attr === undefined) throw new ApplierError(`applier: ${address}: ${value} is not known (attribute ${m[3]} not implemented or not created)`);
      return attr;
    }
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, address));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, address)]));
    return value;
  }

  private async createOne(r: Resource): Promise<void> {
    const c = this.resolve(r.config, r.address) as Config;
    const d = r.engine ?? this.docker;
    let attrs: Record<string, string>;
    switch (r.type) {
      case 'docker_image': {
        const img = await d.inspect('images', c.name as string);
        if (!img) throw new ApplierError(`applier: ${r.address}: image ${String(c.name)} is not on this engine, and this harness never pulls`);
        attrs = { id: `${img.Id}${c.name}`, image_id: img.Id, name: c.name as string };
        break;
      }
      case 'docker_network': {
        const ipam = (c.ipam_config as Config[] | undefined)?.map((i) => ({ Subnet: i.subnet, Gateway: i.gateway }));
        const res = await d.call('POST', '/networks/create', {
          Name: c.name,
          Driver: c.driver ?? 'bridge',
          CheckDuplicate: true,
          Labels: labelsOf(c.labels),
          ...(ipam ? { IPAM: { Driver: 'default', Config: ipam } } : {}),
        });
        attrs = { id: res.Id, name: c.name as string };
        break;
      }
      case 'docker_volume': {
        const res = await d.call('POST', '/volumes/create', { Name: c.name, Driver: c.driver ?? 'local', Labels: labelsOf(c.labels) });
        attrs = { id: res.Name, name: res.Name };
        break;
      }
      case 'docker_container':
        attrs = await this.createContainer(r.address, c, d);
        break;
      default:
        throw new ApplierError(`applier: ${r.address}: cannot create ${r.type}`);
    }
    this.state.set(r.address, { resource: r, attrs });
  }

  private async createContainer(address: string, c: Config, d: DockerApi): Promise<Record<string, string>> {
    const allowed = this.opts.allowedBindAddresses ?? ['127.0.0.1'];
    const ports = (c.ports as Config[] | undefined) ?? [];
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of ports) {
      const ip = (p.ip as string | undefined) ?? '0.0.0.0';
      if (!allowed.includes(ip)) throw new ApplierError(`applier: ${address}: refusing to publish a port on ${ip} (allowed: ${allowed.join(', ')})`);
      const key = `${p.internal}/${(p.protocol as string | undefined) ?? 'tcp'}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: p.external === undefined ? '' : String(p.external) });
    }
    const networks = (c.networks_advanced as Config[] | undefined) ?? [];
    const endpoint = (n: Config) => ({
      Aliases: n.aliases ?? [],
      ...(n.ipv4_address ? { IPAMConfig: { IPv4Address: n.ipv4_address } } : {}),
    });
    const hc = (c.healthcheck as Config[] | Config | undefined);
    const health = Array.isArray(hc) ? hc[0] : hc;
    const body = {
      Image: c.image,
      Cmd: c.command,
      Entrypoint: c.entrypoint,
      Env: c.env,
      Hostname: c.hostname,
      Labels: labelsOf(c.labels),
      ExposedPorts: exposed,
      Healthcheck: health && {
        Test: health.test,
        Interval: health.interval ? goDurationNs(health.interval as string) : 0,
        Timeout: health.timeout ? goDurationNs(health.timeout as string) : 0,
        StartPeriod: health.start_period ? goDurationNs(health.start_period as string) : 0,
        Retries: health.retries ?? 0,
      },
      HostConfig: {
        PortBindings: bindings,
        Binds: ((c.volumes as Config[] | undefined) ?? []).map((v) => `${v.volume_name}:${v.container_path}${v.read_only ? ':ro' : ''}`),
        RestartPolicy: { Name: (c.restart as string | undefined) ?? 'no' },
        ...(c.memory ? { Memory: Number(c.memory) * 1024 * 1024 } : {}),
        ...(networks[0] ? { NetworkMode: networks[0].name } : {}),
      },
      NetworkingConfig: networks[0] ? { EndpointsConfig: { [networks[0].name as string]: endpoint(networks[0]) } } : undefined,
    };
    const res = await d.call('POST', `/containers/create?name=${encodeURIComponent(c.name as string)}`, body);
    for (const n of networks.slice(1)) {
      await d.call('POST', `/networks/${encodeURIComponent(n.name as string)}/connect`, { Container: res.Id, EndpointConfig: endpoint(n) });
    }
    // Uploads go in before the first start, as the provider does.
    const uploads = (c.upload as Config[] | undefined) ?? [];
    if (uploads.length) {
      const tar = tarOf(uploads.map((u) => ({ path: u.file as string, data: readFileSync(u.source as string), mode: parseInt((u.permissions as string | undefined) ?? '0644', 8) })));
      await d.putArchive(res.Id, '/', tar);
    }
    if (c.start !== false && c.must_run !== false) await d.start(res.Id);
    return { id: res.Id, name: c.name as string };
  }

  private async destroyOne(address: string): Promise<void> {
    const applied = this.state.get(address);
    if (!applied) return;
    const { type, config } = applied.resource;
    const d = applied.resource.engine ?? this.docker;
    switch (type) {
      case 'docker_container':
        await d.removeContainer(applied.attrs.id);
        break;
      case 'docker_network':
        await d.removeNetwork(applied.attrs.name);
        break;
      case 'docker_volume':
        await d.removeVolume(applied.attrs.name);
        break;
      case 'docker_image':
        if (config.keep_locally !== true) {
          await d.call('DELETE', `/images/${encodeURIComponent(applied.attrs.image_id)}`).catch(() => undefined);
        }
        break;
      default:
        throw new ApplierError(`applier: ${address}: cannot destroy ${type}`);
    }
    this.state.delete(address);
  }

  // ---- terraform_data through real Terraform ----

  private async terraform(args: string[]) {
    return run('terraform', args, { cwd: this.hookDir, env: { ...QUIET_TERRAFORM_ENV, ...this.opts.hookEnv }, timeoutMs: 600_000 });
  }

  /** The hooks' part of a configuration, as Terraform runs it alone: depends_on kept only between hooks. */
  private hooksConfig(resources: Resource[]): Record<string, Config> {
    const hooks: Record<string, Config> = {};
    for (const r of resources) {
      if (r.type !== 'terraform_data') continue;
      const { depends_on, ...rest } = r.config;
      const kept = ((depends_on as string[] | undefined) ?? []).filter((d) => d.startsWith('terraform_data.'));
      hooks[r.address.slice('terraform_data.'.length)] = kept.length ? { ...rest, depends_on: kept } : rest;
    }
    return hooks;
  }

  private writeHooks(hooks: Record<string, Config>): void {
    // A removed block may only name what the configuration no longer holds.
    const removed = this.removedBlocks.filter((b) => !((b.from as string).slice('terraform_data.'.length) in hooks));
    mkdirSync(this.hookDir, { recursive: true });
    writeFileSync(
      join(this.hookDir, 'main.tf.json'),
      JSON.stringify({ ...(Object.keys(hooks).length ? { resource: { terraform_data: hooks } } : {}), ...(removed.length ? { removed } : {}) }, null, 2),
    );
  }

  /** `terraform plan` of the desired hooks: fails the apply, before any Docker change, when Terraform would. */
  private async planHooks(desired: Map<string, Resource>): Promise<void> {
    await this.init();
    this.writeHooks(this.hooksConfig([...desired.values()]));
    const r = await this.terraform(['plan', '-input=false', '-no-color', '-lock=false']);
    this.lastHookOutput = r.stdout + r.stderr;
    this.hookOutputs.push(this.lastHookOutput);
    if (r.code !== 0) throw new HookFailed(`applier: terraform plan failed:\n${lastLines(this.lastHookOutput, 40)}`, this.lastHookOutput);
  }

  /**
   * Runs Terraform on the hooks the state holds, less `leaving` (destroyed, with their destroy-time
   * provisioners) and with `arriving` (created or replaced, with their provisioners).
   */
  private async runHooks(leaving: Set<string>, arriving: Set<string>): Promise<void> {
    await this.init();
    this.writeHooks(this.hooksConfig([...this.state.values()].map((a) => a.resource).filter((r) => !leaving.has(r.address))));
    const what = [...leaving].map((a) => `destroy ${a}`).concat([...arriving].map((a) => `apply ${a}`)).join(', ');
    this.log(`applier: terraform apply (${what})`);
    const r = await this.terraform(['apply', '-auto-approve', '-input=false', '-no-color']);
    this.lastHookOutput = r.stdout + r.stderr;
    this.hookOutputs.push(this.lastHookOutput);
    if (r.code !== 0) {
      for (const a of arriving) this.taintedHooks.add(a);
      throw new HookFailed(`applier: terraform apply failed (${what}):\n${lastLines(this.lastHookOutput, 40)}`, this.lastHookOutput);
    }
    for (const a of arriving) this.taintedHooks.delete(a);
  }

  /** Everything Terraform printed in its last run of the hooks. */
  lastHookOutput = '';
  /** Every hook run's output, in order. */
  readonly hookOutputs: string[] = [];
  /** The `removed` blocks of the configuration being applied. */
  private removedBlocks: Config[] = [];
}

export class HookFailed extends ApplierError {
  constructor(
    message: string,
    public readonly output: string,
  ) {
    super(message);
  }
}

/** A ustar archive of these files (and their parent directories), as Docker's archive endpoint takes. */
export function tarOf(files: { path: string; data: Buffer; mode: number }[]): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, mode: number, type: '0' | '5') => {
    const h = Buffer.alloc(512);
    if (Buffer.byteLength(name) > 100) throw new ApplierError(`applier: upload path too long for the harness tar: ${name}`);
    h.write(name, 0, 100, 'utf8');
    h.write(mode.toString(8).padStart(7, '0') + '\0', 100);
    h.write('0000000\0', 108); // uid
    h.write('0000000\0', 116); // gid
    h.write(size.toString(8).padStart(11, '0') + '\0', 124);
    h.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136);
    h.write('        ', 148); // checksum placeholder
    h.write(type, 156);
    h.write('ustar\0' + '00', 257);
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    return h;
  };
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.replace(/^\//, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      if (!dirs.has(dir)) {
        dirs.add(dir);
        blocks.push(header(dir, 0, 0o755, '5'));
      }
    }
    blocks.push(header(parts.join('/'), f.data.length, f.mode, '0'), f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function lastLines(text: string, n = 15): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

function walkStrings(value: unknown, visit: (s: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((v) => walkStrings(v, visit));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => walkStrings(v, visit));
}

function checkAttributes(address: string, config: Config, schema: Record<string, true | Record<string, true>>): void {
  for (const [key, value] of Object.entries(config)) {
    const rule = schema[key];
    if (!rule) throw new ApplierError(`applier: ${address}: attribute "${key}" is not implemented`);
    if (rule === true || value === undefined) continue;
    const blocks = Array.isArray(value) ? value : [value];
    for (const block of blocks) {
      for (const sub of Object.keys(block as Config)) {
        if (!rule[sub]) throw new ApplierError(`applier: ${address}: attribute "${key}.${sub}" is not implemented`);
      }
    }
  }
}

/**
 * Whether a change replaces the resource. Every attribute of the Docker resources we emit forces a new
 * resource; a terraform_data is replaced only when its triggers_replace changes (input is updated in place,
 * provisioners and depends_on change nothing by themselves).
 */
function needsReplacement(old: Resource, next: Resource): boolean {
  if (next.type !== 'terraform_data') {
    const { depends_on: _a, ...a } = old.config;
    const { depends_on: _b, ...b } = next.config;
    return JSON.stringify(a) !== JSON.stringify(b);
  }
  return JSON.stringify(old.config.triggers_replace) !== JSON.stringify(next.config.triggers_replace);
}

/** Resources grouped by dependency depth: every resource comes after all it depends on. */
function levels(resources: Resource[]): Resource[][] {
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const depth = new Map<string, number>();
  const visit = (r: Resource, stack: Set<string>): number => {
    const known = depth.get(r.address);
    if (known !== undefined) return known;
    if (stack.has(r.address)) throw new ApplierError(`applier: dependency cycle through ${r.address}`);
    stack.add(r.address);
    const d = Math.max(-1, ...r.deps.filter((x) => byAddress.has(x)).map((x) => visit(byAddress.get(x)!, stack))) + 1;
    stack.delete(r.address);
    depth.set(r.address, d);
    return d;
  };
  resources.forEach((r) => visit(r, new Set()));
  const out: Resource[][] = [];
  for (const r of resources) (out[depth.get(r.address)!] ??= []).push(r);
  return out.filter(Boolean);
}
