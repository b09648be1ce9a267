/**
 * `etcd-cluster guard`: the first step of a cluster's first deploy. A deploy whose state does not know a
 * cluster that runs would adopt its data volumes (Docker hands back a volume that exists) and then fail on
 * its container names: a `destroy` from the state it left would delete the data. The guard refuses such a
 * deploy before anything is created, adopted or changed: when the state knows nothing of the cluster, it
 * looks on the cluster's Docker hosts for the containers and volumes the stack declares.
 *
 * Runs only when the guard is created: on the first deploy (nothing of the cluster exists yet: it passes), on
 * a deploy whose state was lost (it refuses), and on the first deploy of a release that added it to a
 * cluster deployed before (its state knows the cluster: it passes). A partial first deploy that failed keeps
 * its guard in the state, so the next deploy goes on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuardMessage } from '../contract/guard';
import { NETWORK_KIND } from '../contract/network';
import { SynthesizedStack, type StackObjects } from '../contract/stack';
import { call, remote, ssh, targetOf, type HostOrDefault } from './docker';
import { LABEL_CLUSTER } from '../model/topology/types';
import { DockerHostError, MembershipError } from './errors';
import { lastLines, TerraformDriver, terraformBinary } from './terraform';

type Names = StackObjects;

/** Every container (running or not), volume and network a Docker host holds, by name. */
export async function namesOnHost(d: HostOrDefault, env: NodeJS.ProcessEnv = process.env): Promise<Names & { where: string }> {
  const t = targetOf(d, env);
  if ('ssh' in t) {
    const list = async (...words: string[]) => {
      const r = await ssh([...t.ssh, remote('docker', ...words)], t.where);
      if (r.code !== 0) throw new DockerHostError(`${t.where}: docker ${words.slice(0, 2).join(' ')}: ${r.stderr.trim().split('\n')[0]}`);
      return r.stdout.split('\n').filter(Boolean);
    };
    const [containers, volumes, networks] = await Promise.all([
      list('container', 'ls', '--all', '--format', '{{.Names}}'),
      list('volume', 'ls', '--format', '{{.Name}}'),
      list('network', 'ls', '--format', '{{.Name}}'),
    ]);
    return { where: t.where, containers, volumes, networks };
  }
  const get = async <T>(path: string): Promise<T> => {
    const r = await call(t.http, t.where, 'GET', path);
    if (r.status !== 200) throw new DockerHostError(`${t.where}: GET ${path}: HTTP ${r.status} ${r.data.toString().trim().slice(0, 120)}`);
    return JSON.parse(r.data.toString()) as T;
  };
  const [containers, volumes, networks] = await Promise.all([
    get<{ Names: string[] }[]>('/containers/json?all=1'),
    get<{ Volumes: { Name: string }[] | null }>('/volumes'),
    get<{ Name: string }[]>('/networks'),
  ]);
  return {
    where: t.where,
    containers: containers.flatMap((c) => c.Names.map((n) => n.replace(/^\//, ''))),
    volumes: (volumes.Volumes ?? []).map((v) => v.Name),
    networks: networks.map((n) => n.Name),
  };
}

interface StateJson {
  resources?: { type: string; instances?: { attributes?: Record<string, unknown> }[] }[];
}

/** A state's JSON from its text (`where` names it in errors); empty text: no state. */
function parseState(text: string, where: string): StateJson {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text) as StateJson;
  } catch (e) {
    throw new MembershipError(`guard: the state ${where} is not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** A state file's JSON; empty when there is no file or it is empty. */
const stateOfFile = (file: string): StateJson => parseState(existsSync(file) ? readFileSync(file, 'utf8') : '', file);

/**
 * The state as Terraform has it while this apply runs (it may already have written some of the apply's
 * changes): the local backend's file, else `terraform state pull` (empty: no state).
 */
async function readState(stateFile: string | null, dir: string): Promise<StateJson> {
  if (stateFile) return stateOfFile(stateFile);
  const r = await new TerraformDriver(dir).run(['state', 'pull']);
  if (r.code !== 0) throw new MembershipError(`guard: could not read the state (${terraformBinary()} state pull): ${lastLines(r.output, 1)}`);
  return parseState(r.stdout, `(${terraformBinary()} state pull)`);
}

/**
 * What of the cluster a state records, if anything: one of its containers or volumes (by the names the stack
 * declares), its network (the step's, or the older `docker_network` resource's), or a hook whose input names
 * the cluster (its membership records, its verify hook). Undefined: the state knows nothing of it.
 *
 * Nothing finer: Terraform writes the state during an apply (an upgrade's forgotten resource, a replaced
 * container's destroy), so the state file the guard reads may already lack some of the cluster's objects;
 * but a state that deployed the cluster keeps most of its records through any apply, and a lost one holds
 * none of them.
 */
export function stateKnows(state: StateJson, cluster: string, declared: Names): string | undefined {
  type Value = { kind?: string; cluster?: string; name?: string; target?: { cluster?: string } };
  for (const r of state.resources ?? []) {
    for (const i of r.instances ?? []) {
      const a = i.attributes ?? {};
      const name = typeof a.name === 'string' ? a.name : undefined;
      if (r.type === 'docker_container' && name && declared.containers.includes(name)) return `its container ${name}`;
      if (r.type === 'docker_volume' && name && declared.volumes.includes(name)) return `its volume ${name}`;
      if (r.type === 'docker_network' && name && declared.networks.includes(name)) return `its network ${name}`;
      if (r.type !== 'terraform_data') continue;
      const trigger = (a.triggers_replace as { value?: Value } | undefined)?.value;
      if (trigger?.kind === NETWORK_KIND && trigger.cluster === cluster) return `its network step (${trigger.name})`;
      const input = (a.input as { value?: Value } | undefined)?.value;
      if (input && (input.target?.cluster ?? input.cluster) === cluster) return `its ${input.kind?.split('/')[1] ?? 'hook'} record`;
    }
  }
  return undefined;
}

export interface GuardFinding {
  readonly where: string;
  readonly containers: string[];
  readonly volumes: string[];
  readonly networks: string[];
}

/**
 * What the stack declares (`declared`: every object of the cluster, whatever its host: the names are the
 * cluster's own) that each Docker host of the cluster holds (hosts that hold none of it left out).
 */
export async function declaredOnHosts(hosts: GuardMessage['hosts'], declared: Names, env: NodeJS.ProcessEnv = process.env): Promise<GuardFinding[]> {
  const found = await Promise.all(
    hosts.map(async (d) => {
      const live = await namesOnHost(d, env);
      const there = (names: string[], on: string[]) => names.filter((n) => on.includes(n));
      return {
        where: live.where,
        containers: there(declared.containers, live.containers),
        volumes: there(declared.volumes, live.volumes),
        networks: there(declared.networks, live.networks),
      };
    }),
  );
  return found.filter((f) => f.containers.length + f.volumes.length + f.networks.length > 0);
}

const listed = (what: string, names: string[]) => (names.length ? [`${names.length} ${what}${names.length > 1 ? 's' : ''} (${names.join(', ')})`] : []);

/**
 * Refuses (one line) when the state in `dir` knows nothing of the cluster and its Docker hosts run its
 * containers or hold its volumes. A network alone is no cluster: the network step adopts it.
 */
export async function guard(m: GuardMessage, opts: { dir: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  const env = opts.env ?? process.env;
  const stack = SynthesizedStack.read(opts.dir);
  const declared = stack.objectsLabelled(LABEL_CLUSTER, m.cluster);
  // The backend's `path` is the default workspace's; another workspace's state is Terraform's to find.
  const environment = join(opts.dir, '.terraform', 'environment');
  const workspace = env.TF_WORKSPACE || (existsSync(environment) ? readFileSync(environment, 'utf8').trim() : '') || 'default';
  const stateFile = workspace === 'default' ? stack.localStateFile() : null;
  const known = stateKnows(await readState(stateFile, opts.dir), m.cluster, declared);
  if (known) return `guard: this state knows ${m.cluster} (${known}); deploying`;
  const findings = await declaredOnHosts(m.hosts, declared, env);
  if (!findings.some((f) => f.containers.length + f.volumes.length > 0)) return `guard: nothing of ${m.cluster} runs yet; deploying`;
  const what = findings.map(
    (f) => `${f.where}: ${[...listed('container', f.containers), ...listed('volume', f.volumes), ...listed('network', f.networks)].join(', ')}`,
  );
  // Terraform keeps the state before a run's first write as `.backup`: a retry of this deploy replaces it.
  const backup = stateFile && `${stateFile}.backup`;
  const how =
    backup && stateKnows(stateOfFile(backup), m.cluster, declared)
      ? `${backup} knows it: copy it over ${stateFile} now (the next deploy replaces the .backup) and deploy`
      : 'copy back the state that deployed it, then deploy';
  throw new MembershipError(
    `refusing to deploy ${m.cluster}: it runs already, and this Terraform state knows nothing of it (${what.join('; ')}); nothing was created, adopted or changed. ${how} (README, "The state file lost or moved"); never destroy from a state that does not know the cluster`,
  );
}
