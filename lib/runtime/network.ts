/**
 * The cluster's Docker network, made and removed by the cluster's network step (`etcd-cluster network
 * create|remove`, which a terraform_data's provisioners run) instead of the provider's `docker_network`
 * resource: that resource waits at least 2 s on every create, every refresh and every delete (a
 * StateChangeConf with Delay 2s in kreuzwerker/docker 4.x), so every plan of a standing cluster paid it.
 *
 * Both are idempotent. `create` adopts a network of that name that is already what the spec says (same
 * driver, the cluster's labels, the subnet and gateway when the spec sets them): a deployed cluster that
 * upgrades from the `docker_network` resource keeps its network, and so its containers. A network of that
 * name that is not the spec's is refused, naming what differs. `remove` leaves alone a network that is not
 * the cluster's, and waits (up to 30 s, like the provider) for containers still detaching.
 *
 * The Docker host is reached the way the provider reaches it (docker.ts): the Engine API over `unix://` or
 * `tcp://`, the remote `docker` CLI over `ssh://`; none: DOCKER_HOST, else the local socket.
 */
import type { NetworkDef, NetworkDocker } from '../contract/network';
import { call, jsonMessage, remote, ssh, targetOf } from './docker';
import { DockerHostError } from './errors';

/** The Docker host holds a network of that name that is not the one the spec declares, or cannot remove it. */
export class NetworkConflict extends DockerHostError {}

interface LiveNetwork {
  readonly id: string;
  readonly driver: string;
  readonly labels: Record<string, string>;
  readonly subnets: { readonly subnet?: string; readonly gateway?: string }[];
  readonly containers: string[];
}

interface RawNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Labels?: Record<string, string> | null;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null };
  Containers?: Record<string, { Name?: string }> | null;
}

type Target = ReturnType<typeof targetOf>;

const live = (n: RawNetwork): LiveNetwork => ({
  id: n.Id,
  driver: n.Driver,
  labels: n.Labels ?? {},
  subnets: (n.IPAM?.Config ?? []).map((c) => ({ subnet: c.Subnet, gateway: c.Gateway })),
  containers: Object.values(n.Containers ?? {})
    .map((c) => c.Name ?? '?')
    .sort(),
});

const firstLine = (text: string) => text.trim().split('\n')[0];

/** The network of exactly this name (the API also matches ID prefixes), or undefined. */
async function inspect(name: string, t: Target): Promise<LiveNetwork | undefined> {
  let raw: RawNetwork;
  if ('ssh' in t) {
    const r = await ssh([...t.ssh, remote('docker', 'network', 'inspect', '--format', '{{json .}}', name)], t.where);
    if (r.code !== 0) {
      if (/no such network|not found/i.test(r.stderr)) return undefined;
      throw new DockerHostError(`${t.where}: network ${name}: ${firstLine(r.stderr)}`);
    }
    raw = JSON.parse(r.stdout) as RawNetwork;
  } else {
    const r = await call(t.http, t.where, 'GET', `/networks/${encodeURIComponent(name)}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new DockerHostError(`${t.where}: network ${name}: HTTP ${r.status} ${jsonMessage(r.data)}`);
    raw = JSON.parse(r.data.toString()) as RawNetwork;
  }
  return raw.Name === name ? live(raw) : undefined;
}

/** Why an existing network is not the one declared, or undefined when it is. */
function mismatch(def: NetworkDef, n: LiveNetwork): string | undefined {
  if (n.driver !== def.driver) return `has driver ${n.driver}, and the spec says ${def.driver}`;
  for (const [label, value] of Object.entries(def.labels)) {
    if (n.labels[label] !== value)
      return n.labels[label] === undefined
        ? `is not cluster ${def.cluster}'s (it has no label ${label})`
        : `is not cluster ${def.cluster}'s (label ${label}=${n.labels[label]})`;
  }
  if (def.subnet && !n.subnets.some((s) => s.subnet === def.subnet && s.gateway === def.gateway)) {
    const has = n.subnets.map((s) => `${s.subnet ?? '?'} (gateway ${s.gateway ?? '?'})`).join(', ') || 'no subnet';
    return `has subnet ${has}, and the spec says ${def.subnet} (gateway ${def.gateway})`;
  }
  return undefined;
}

/** Creates the network; undefined when one of that name appeared meanwhile. */
async function create(def: NetworkDef, t: Target): Promise<string | undefined> {
  if ('ssh' in t) {
    const r = await ssh(
      [
        ...t.ssh,
        remote(
          'docker',
          'network',
          'create',
          '--driver',
          def.driver,
          ...Object.entries(def.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
          ...(def.subnet ? ['--subnet', def.subnet, '--gateway', def.gateway ?? ''] : []),
          def.name,
        ),
      ],
      t.where,
    );
    if (r.code === 0) return r.stdout.trim();
    if (/already exists/i.test(r.stderr)) return undefined;
    throw new DockerHostError(`${t.where}: network ${def.name}: ${firstLine(r.stderr)}`);
  }
  const r = await call(t.http, t.where, 'POST', '/networks/create', {
    Name: def.name,
    Driver: def.driver,
    Labels: def.labels,
    // Refused when the name is taken: never two networks of one name.
    CheckDuplicate: true,
    ...(def.subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: def.subnet, Gateway: def.gateway }] } } : {}),
  });
  if (r.status === 201) return (JSON.parse(r.data.toString()) as { Id: string }).Id;
  if (r.status === 409) return undefined;
  throw new DockerHostError(`${t.where}: network ${def.name}: ${jsonMessage(r.data)}`);
}

export interface NetworkResult {
  readonly network: string;
  readonly where: string;
  readonly action: 'created' | 'exists' | 'removed' | 'absent' | 'kept';
  readonly id?: string;
  /** Why a network was kept. */
  readonly reason?: string;
}

/** Makes the network unless it exists as declared; refuses one of that name that is not. */
export async function ensureNetwork(def: NetworkDef, docker: NetworkDocker | undefined, env: NodeJS.ProcessEnv = process.env): Promise<NetworkResult> {
  const t = targetOf(docker, env);
  let found = await inspect(def.name, t);
  if (!found) {
    const id = await create(def, t);
    if (id) return { network: def.name, where: t.where, action: 'created', id };
    found = await inspect(def.name, t);
    if (!found) throw new DockerHostError(`${t.where}: network ${def.name}: Docker says it exists, but it cannot be inspected`);
  }
  const why = mismatch(def, found);
  if (why) {
    throw new NetworkConflict(
      `network ${def.name} on ${t.where} ${why}; ${
        found.containers.length ? `containers ${found.containers.join(', ')} use it; ` : ''
      }remove or rename that network (docker network rm ${def.name}), or choose another cluster name, and deploy again`,
    );
  }
  return { network: def.name, where: t.where, action: 'exists', id: found.id };
}

/** Removes the cluster's network; leaves alone one that is not the cluster's. Waits for containers still detaching. */
export async function removeNetwork(
  def: NetworkDef,
  docker: NetworkDocker | undefined,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<NetworkResult> {
  const t = targetOf(docker, opts.env ?? process.env);
  const until = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const found = await inspect(def.name, t);
    if (!found) return { network: def.name, where: t.where, action: 'absent' };
    const ours = Object.entries(def.labels).every(([k, v]) => found.labels[k] === v);
    if (!ours) return { network: def.name, where: t.where, action: 'kept', id: found.id, reason: `it is not cluster ${def.cluster}'s` };
    let busy: string;
    if ('ssh' in t) {
      const r = await ssh([...t.ssh, remote('docker', 'network', 'rm', found.id)], t.where);
      if (r.code === 0 || /no such network|not found/i.test(r.stderr)) return { network: def.name, where: t.where, action: 'removed', id: found.id };
      if (!/active endpoints/i.test(r.stderr)) throw new DockerHostError(`${t.where}: network ${def.name}: ${firstLine(r.stderr)}`);
      busy = firstLine(r.stderr);
    } else {
      const r = await call(t.http, t.where, 'DELETE', `/networks/${found.id}`);
      if (r.status === 204 || r.status === 200 || r.status === 404) return { network: def.name, where: t.where, action: 'removed', id: found.id };
      busy = jsonMessage(r.data);
      if (!/active endpoints/i.test(busy)) throw new DockerHostError(`${t.where}: network ${def.name}: HTTP ${r.status} ${busy}`);
    }
    if (Date.now() > until) {
      const users = (await inspect(def.name, t))?.containers ?? [];
      throw new NetworkConflict(
        `network ${def.name} on ${t.where} is still in use${users.length ? ` by ${users.join(', ')}` : ''} (${busy}); stop or disconnect those containers and run the destroy again`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
