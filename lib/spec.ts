/**
 * The cluster spec: what a user declares, from a YAML/JSON file or as construct props.
 *
 * This module only parses and validates. It turns every problem into a `SpecError` whose message is one
 * line naming the field and the value received. The topology module takes a `ClusterSpec` from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { dirname, resolve } from 'node:path';
import * as YAML from 'yaml';
import { z } from 'zod';

/** The official image of a current etcd 3.5 release. */
export const DEFAULT_IMAGE = 'gcr.io/etcd-development/etcd:v3.5.21';
/** Voting member counts we accept: odd, at most 9. */
export const VALID_PRIMARY_COUNTS = [1, 3, 5, 7, 9] as const;
/** Where `main.ts` looks for the spec unless `ETCD_CLUSTER_CONFIG` names another file. */
export const DEFAULT_SPEC_FILE = 'cluster.yaml';
export const SPEC_FILE_ENV = 'ETCD_CLUSTER_CONFIG';
/** Longest cluster name: `<name>-secondary-<j>` must stay a DNS label (63 characters). */
export const MAX_NAME_LENGTH = 40;

/** Props of `EtcdCluster`, and the keys of a spec file. */
export interface EtcdClusterProps {
  /**
   * Cluster name: a DNS label (lowercase letters, digits and hyphens, starting with a letter, at most 40
   * characters). It names the stack and every Docker object: `<name>-net`, `<name>-primary-<i>`, ...
   */
  readonly name: string;
  /**
   * Voting etcd members. Odd, so that no split leaves two equal halves: 1, 3, 5, 7 or 9.
   * @default 3
   */
  readonly primaries?: number;
  /**
   * How many primaries the cluster was first deployed with. Primaries 1..initialPrimaries bootstrap with
   * `--initial-cluster-state new` and keep those flags forever; primaries above it join a running cluster
   * one at a time (learner, catch-up, promote). Set it before changing `primaries` of a deployed cluster.
   * @default - the same as primaries
   */
  readonly initialPrimaries?: number;
  /**
   * Primaries to replace with a fresh member: primary number -> replacement generation (1, then 2, ...).
   * Raising a primary's generation makes the next deploy remove its old member from etcd, give it a new
   * empty data volume (`<name>-primary-<i>-data-r<generation>`) and add it back as a learner with a new
   * member ID. Keep the entry afterwards: dropping it would replace the member again.
   * @default {}
   */
  readonly replace?: Record<string, number>;
  /**
   * Stateless etcd clients (by default etcd grpc-proxies). Scaling them touches nothing else.
   * @default 0
   */
  readonly secondaries?: number;
  /**
   * Image of the primaries (and of the default secondaries): an etcd image with `/usr/local/bin/etcd`
   * and `/usr/local/bin/etcdctl`.
   * @default 'gcr.io/etcd-development/etcd:v3.5.21'
   */
  readonly image?: string;
  /**
   * The cluster's `--initial-cluster-token`.
   * @default `<name>-etcd-cluster`
   */
  readonly token?: string;
  /** Published client ports. */
  readonly ports?: PortsProps;
  /** The cluster's Docker network. */
  readonly network?: NetworkProps;
  /** What every secondary runs. @default - an etcd grpc-proxy registering under the cluster's prefix */
  readonly secondary?: SecondaryProps;
  /** The post-apply verification hook. */
  readonly verify?: VerifyProps;
  /** etcd timing flags of the primaries. @default - etcd's own defaults */
  readonly etcd?: EtcdTuningProps;
  /** Mutual TLS for peers and clients. @default - no TLS */
  readonly tls?: TlsProps;
  /** etcd RBAC: a root user, enabled by the post-apply hook. @default - no authentication */
  readonly auth?: AuthProps;
  /**
   * Docker hosts to spread the cluster over, each reached through the Docker provider's own `host`
   * (`unix://...`, `tcp://...`, `ssh://user@host`). Without hosts, everything runs on the one provider's host.
   * @default - one host: the stack's Docker provider
   */
  readonly hosts?: HostProps[];
  /** Which host each member runs on. @default - primaries one per host in order; secondaries round-robin */
  readonly placement?: PlacementProps;
}

export interface HostProps {
  /** Host name: a DNS label, unique in the cluster; also the provider alias. */
  readonly name: string;
  /** How the Docker provider reaches the host's daemon: `unix:///var/run/docker.sock`, `tcp://...`, `ssh://user@host`. */
  readonly docker: string;
  /** Extra ssh options for an `ssh://` host, as the provider's `ssh_opts`. @default [] */
  readonly sshOpts?: string[];
  /** IPv4 address the other hosts (and the deploying machine) reach this host at; ports are published on it. */
  readonly address: string;
}

export interface PlacementProps {
  /** Host of each primary, in order (one entry per primary). @default - primary i on host i */
  readonly primaries?: string[];
  /** Hosts the secondaries go to in turn: secondary j on entry (j-1) mod length. @default - every host */
  readonly secondaries?: string[];
}

export interface AuthProps {
  /**
   * Environment variable holding the root password, read by the hook and the CLI at run time; the password
   * itself never appears in the spec or the synthesized config.
   * @default 'ETCD_ROOT_PASSWORD'
   */
  readonly passwordEnv?: string;
}

export interface TlsProps {
  /**
   * Directory made by `etcd-cluster pki`: `ca.crt`, `<node>.crt`/`<node>.key` per primary and secondary, and
   * `client.crt`/`client.key` for the verifier. Relative to the spec file (or, for props, the working directory).
   */
  readonly dir: string;
}

export interface PortsProps {
  /**
   * Host address the client ports are published on. Anything but loopback exposes the cluster.
   * @default '127.0.0.1'
   */
  readonly bindAddress?: string;
  /** Host port of primary 1's client port; primary i gets `primaryBase + i - 1`. @default 2379 */
  readonly primaryBase?: number;
  /** Host port of secondary 1's client port; secondary j gets `secondaryBase + j - 1`. @default 23790 */
  readonly secondaryBase?: number;
  /**
   * With hosts: host port of the first primary's peer port on each host (peers on other hosts dial it).
   * Ports count per host: the k-th primary on a host gets `primaryBase + k - 1` and `peerBase + k - 1`.
   * @default 2380
   */
  readonly peerBase?: number;
}

export interface NetworkProps {
  /** IPv4 subnet of `<name>-net` in CIDR form, e.g. `172.28.0.0/24`. @default - chosen by Docker */
  readonly subnet?: string;
}

export interface SecondaryProps {
  /** Image of every secondary. @default - the cluster's `image` */
  readonly image?: string;
  /**
   * Command of every secondary, for an application node that is an etcd client. The tokens
   * `{{endpoints}}` (primaries' client URLs, comma-separated), `{{addresses}}` (the same as host:port),
   * `{{name}}` (the container name) and
   * `{{prefix}}` (the registration prefix) are replaced. The container also gets `ETCDCTL_ENDPOINTS`.
   * @default - `etcd grpc-proxy start` against every primary
   */
  readonly command?: string[];
  /** Extra environment of every secondary (not `ETCD_*`: etcd refuses variables that shadow flags). @default {} */
  readonly env?: Record<string, string>;
  /** Port the secondary serves clients on inside its container. @default 2379 */
  readonly clientPort?: number;
  /** TTL of the grpc-proxy's registration lease, in seconds. @default 10 */
  readonly registrationTtlSeconds?: number;
  /**
   * Whether each secondary registers itself under the cluster prefix (the grpc-proxy does). A custom
   * command that does not register sets false, and the verifier then checks only that it serves reads.
   * @default - true for the grpc-proxy, false for a custom command
   */
  readonly registers?: boolean;
  /** Docker healthcheck command in exec form (`["CMD", ...]`). @default - etcdctl endpoint health for the grpc-proxy, none for a custom command */
  readonly healthcheck?: string[];
}

export interface VerifyProps {
  /** Whether to add the post-apply hook. @default true */
  readonly enabled?: boolean;
  /** How long the hook waits for the live cluster to match, in seconds. @default 60 */
  readonly timeoutSeconds?: number;
  /** How the hook runs the CLI. @default 'npx --no-install etcd-cluster' */
  readonly command?: string;
}

export interface EtcdTuningProps {
  /** `--heartbeat-interval` in milliseconds. @default - etcd's 100 */
  readonly heartbeatIntervalMs?: number;
  /** `--election-timeout` in milliseconds. @default - etcd's 1000 */
  readonly electionTimeoutMs?: number;
}

/** Thrown for any spec problem; the message is one line that names the field and the value. */
export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const CIDR_PATTERN = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;

const port = () =>
  z.int({ error: 'must be a whole port number' }).min(1, { error: 'must be 1 to 65535' }).max(65535, { error: 'must be 1 to 65535' });

/** A voting member count: odd, 1 to 9, with the reason when it is not. */
function voterCount() {
  return z.int({ error: 'must be a whole number: 1, 3, 5, 7 or 9' }).check((ctx) => {
    const n = ctx.value;
    if ((VALID_PRIMARY_COUNTS as readonly number[]).includes(n)) return;
    let why: string;
    if (n < 1) why = 'a cluster needs at least one voting member';
    else if (n > 9) why = 'more than 9 voters only slow every write, since each waits for a majority';
    else why = `an even count can split the vote into equal halves and tolerates no more failures than ${n - 1}`;
    ctx.issues.push({ code: 'custom', input: n, message: `${why}; use 1, 3, 5, 7 or 9` });
  });
}

const schema = z.strictObject({
  name: z
    .string()
    .max(MAX_NAME_LENGTH, { error: `is longer than ${MAX_NAME_LENGTH} characters` })
    .regex(NAME_PATTERN, { error: 'must be a DNS label: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen' }),
  primaries: voterCount().default(3),
  initialPrimaries: voterCount().optional(),
  replace: z
    .record(
      z.string().regex(/^[1-9]$/, { error: 'keys must be primary numbers 1 to 9' }),
      z.int({ error: 'must be a whole generation number, 1 or more' }).min(1, { error: 'must be a whole generation number, 1 or more' }).max(999, { error: 'must be at most 999' }),
    )
    .default({}),
  secondaries: z
    .int({ error: 'must be a whole number, 0 or more' })
    .min(0, { error: 'must be 0 or more' })
    .default(0),
  image: z.string().min(1, { error: 'must not be empty' }).default(DEFAULT_IMAGE),
  token: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, { error: 'must be 1 to 128 letters, digits, dots, underscores or hyphens' })
    .optional(),
  ports: z
    .strictObject({
      bindAddress: z.string().refine((a) => isIPv4(a), { error: 'must be an IPv4 address' }).optional(),
      primaryBase: port().default(2379),
      secondaryBase: port().default(23790),
      peerBase: port().optional(),
    })
    .prefault({}),
  network: z
    .strictObject({
      subnet: z
        .string()
        .refine(isCidr, { error: 'must be an IPv4 subnet in CIDR form with a prefix of /8 to /29, e.g. 172.28.0.0/24' })
        .optional(),
    })
    .prefault({}),
  secondary: z
    .strictObject({
      image: z.string().min(1, { error: 'must not be empty' }).optional(),
      command: z.array(z.string()).min(1, { error: 'must list at least the program' }).optional(),
      env: z
        .record(
          z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' }),
          z.string(),
        )
        .check((ctx) => {
          for (const key of Object.keys(ctx.value)) {
            if (key.startsWith('ETCD_')) {
              ctx.issues.push({ code: 'custom', input: key, path: [key], message: 'ETCD_* variables conflict with etcd flags; pass flags in command instead' });
            }
          }
        })
        .default({}),
      clientPort: port().default(2379),
      registrationTtlSeconds: z.int({ error: 'must be a whole number of seconds' }).min(1, { error: 'must be at least 1' }).max(3600, { error: 'must be at most 3600' }).default(10),
      registers: z.boolean().optional(),
      healthcheck: z.array(z.string()).min(2, { error: 'must be exec form, e.g. ["CMD", "/bin/check"]' }).optional(),
    })
    .prefault({}),
  verify: z
    .strictObject({
      enabled: z.boolean().default(true),
      timeoutSeconds: z.number({ error: 'must be a number of seconds' }).positive({ error: 'must be more than 0' }).max(3600, { error: 'must be at most 3600' }).default(60),
      command: z.string().min(1, { error: 'must not be empty' }).default('npx --no-install etcd-cluster'),
    })
    .prefault({}),
  etcd: z
    .strictObject({
      heartbeatIntervalMs: z.int({ error: 'must be a whole number of milliseconds' }).min(10, { error: 'must be at least 10' }).max(5000, { error: 'must be at most 5000' }).optional(),
      electionTimeoutMs: z.int({ error: 'must be a whole number of milliseconds' }).min(50, { error: 'must be at least 50' }).max(50000, { error: 'must be at most 50000' }).optional(),
    })
    .prefault({}),
  tls: z
    .strictObject({
      dir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must not be empty' }),
    })
    .optional(),
  auth: z
    .strictObject({
      passwordEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })
        .default('ETCD_ROOT_PASSWORD'),
    })
    .optional(),
  hosts: z
    .array(
      z.strictObject({
        name: z.string().max(20, { error: 'is longer than 20 characters' }).regex(NAME_PATTERN, { error: 'must be a DNS label: lowercase letters, digits and hyphens, starting with a letter' }),
        docker: z.string().regex(/^(unix|tcp|ssh):\/\/\S+$/, { error: 'must be a Docker host: unix:///path, tcp://host:port or ssh://user@host' }),
        sshOpts: z.array(z.string()).default([]),
        address: z.string().refine((a) => isIPv4(a) && a !== '0.0.0.0', { error: 'must be the IPv4 address other hosts reach this host at' }),
      }),
    )
    .min(1, { error: 'must list at least one host (or leave hosts out)' })
    .optional(),
  placement: z
    .strictObject({
      primaries: z.array(z.string()).optional(),
      secondaries: z.array(z.string()).min(1, { error: 'must list at least one host' }).optional(),
    })
    .optional(),
});

/** A validated spec with every default filled in. */
export type ClusterSpec = z.output<typeof schema>;

function isCidr(value: string): boolean {
  const m = CIDR_PATTERN.exec(value);
  if (!m || !isIPv4(m[1])) return false;
  const bits = Number(m[2]);
  if (bits < 8 || bits > 29) return false;
  // The address must be the network address itself (no host bits set).
  const addr = m[1].split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return addr % 2 ** (32 - bits) === 0;
}

/** Default peer port base with hosts: etcd's own peer port. */
export const DEFAULT_PEER_BASE = 2380;

/**
 * Where each member runs: the index into `spec.hosts` of every primary and secondary, and its slot (how
 * many of its role come before it on the same host), from which its published ports follow. Without
 * hosts, everything is on host 0 and the slot is the member's own position.
 */
export interface Placement {
  readonly primaries: { host: number; slot: number }[];
  readonly secondaries: { host: number; slot: number }[];
}

export function placementOf(spec: ClusterSpec): Placement {
  const hostIndex = (name: string) => (spec.hosts ?? []).findIndex((h) => h.name === name);
  const slotted = (hosts: number[]) => {
    const seen = new Map<number, number>();
    return hosts.map((host) => {
      const slot = seen.get(host) ?? 0;
      seen.set(host, slot + 1);
      return { host, slot };
    });
  };
  if (!spec.hosts) {
    return { primaries: slotted(Array(spec.primaries).fill(0)), secondaries: slotted(Array(spec.secondaries).fill(0)) };
  }
  const primaryHosts = spec.placement?.primaries?.map(hostIndex) ?? Array.from({ length: spec.primaries }, (_, k) => k);
  const cycle = spec.placement?.secondaries?.map(hostIndex) ?? spec.hosts.map((_, k) => k);
  const secondaryHosts = Array.from({ length: spec.secondaries }, (_, k) => cycle[k % cycle.length]);
  return { primaries: slotted(primaryHosts), secondaries: slotted(secondaryHosts) };
}

/** Problems with hosts and placement, before any placement is computed. */
function hostsProblem(spec: ClusterSpec): string | undefined {
  if (!spec.hosts) {
    if (spec.placement) return 'placement: needs hosts (list the Docker hosts under hosts)';
    if (spec.ports.peerBase !== undefined) return `ports.peerBase: only used with hosts; a single host never publishes peer ports (got ${spec.ports.peerBase})`;
    return undefined;
  }
  if (spec.ports.bindAddress !== undefined) {
    return `ports.bindAddress: not used with hosts; each host publishes on its own address (got ${JSON.stringify(spec.ports.bindAddress)})`;
  }
  const names = spec.hosts.map((h) => h.name);
  for (const [k, h] of spec.hosts.entries()) {
    const firstName = names.indexOf(h.name);
    if (firstName < k) return `hosts.${k}.name: duplicate host name ${JSON.stringify(h.name)} (also hosts.${firstName})`;
    const firstAddress = spec.hosts.findIndex((x) => x.address === h.address);
    if (firstAddress < k) return `hosts.${k}.address: ${h.address} is also the address of host ${JSON.stringify(spec.hosts[firstAddress].name)}`;
  }
  const known = `(hosts: ${names.join(', ')})`;
  const placed = spec.placement?.primaries;
  if (placed) {
    if (placed.length !== spec.primaries) return `placement.primaries: lists ${placed.length} host${placed.length === 1 ? '' : 's'} for ${spec.primaries} primaries (got ${JSON.stringify(placed)})`;
    const bad = placed.findIndex((n) => !names.includes(n));
    if (bad >= 0) return `placement.primaries.${bad}: unknown host ${JSON.stringify(placed[bad])} ${known}`;
  } else if (spec.hosts.length < spec.primaries) {
    return `hosts: ${spec.hosts.length} host${spec.hosts.length === 1 ? '' : 's'} cannot hold ${spec.primaries} primaries one per host; add hosts, or place the primaries explicitly with placement.primaries`;
  }
  const cycle = spec.placement?.secondaries ?? [];
  const badSecondary = cycle.findIndex((n) => !names.includes(n));
  if (badSecondary >= 0) return `placement.secondaries.${badSecondary}: unknown host ${JSON.stringify(cycle[badSecondary])} ${known}`;
  return undefined;
}

/** Published port ranges of every host must fit below 65536 and not overlap. */
function portsProblem(spec: ClusterSpec): string | undefined {
  const place = placementOf(spec);
  const hostCount = spec.hosts?.length ?? 1;
  const { primaryBase, secondaryBase } = spec.ports;
  const peerBase = spec.ports.peerBase ?? DEFAULT_PEER_BASE;
  for (let h = 0; h < hostCount; h++) {
    const on = spec.hosts ? ` on host ${spec.hosts[h].name}` : '';
    const pc = place.primaries.filter((p) => p.host === h).length;
    const sc = place.secondaries.filter((p) => p.host === h).length;
    const ranges: { field: string; what: string; first: number; count: number }[] = [
      { field: 'ports.primaryBase', what: "the primaries' ports", first: primaryBase, count: pc },
      ...(spec.hosts ? [{ field: 'ports.peerBase', what: "the primaries' peer ports", first: peerBase, count: pc }] : []),
      { field: 'ports.secondaryBase', what: 'secondaries', first: secondaryBase, count: sc },
    ];
    for (const r of ranges) {
      const last = r.first + r.count - 1;
      if (r.count > 0 && last > 65535) {
        const who = r.field === 'ports.secondaryBase' ? `${r.count} secondaries` : `${r.count} primaries`;
        return `${r.field}: ${r.first} leaves no room for ${who}${on} (last port ${last} > 65535)`;
      }
    }
    for (let a = 0; a < ranges.length; a++) {
      for (let b = a + 1; b < ranges.length; b++) {
        const x = ranges[a];
        const y = ranges[b];
        if (x.count === 0 || y.count === 0) continue;
        if (y.first <= x.first + x.count - 1 && x.first <= y.first + y.count - 1) {
          return `${y.field}: ${y.first} clashes with ${x.what} ${x.first}-${x.first + x.count - 1}${on} (${y.field === 'ports.secondaryBase' ? 'secondaries' : 'they'} need ${y.first}-${y.first + y.count - 1})`;
        }
      }
    }
  }
  return undefined;
}

/** Checks that need several fields at once, after each field is valid on its own. */
function crossFieldProblem(spec: ClusterSpec): string | undefined {
  for (const key of Object.keys(spec.replace)) {
    if (Number(key) > spec.primaries) return `replace.${key}: primary ${key} is not declared (primaries: ${spec.primaries})`;
  }
  if (spec.hosts && spec.initialPrimaries !== undefined && spec.initialPrimaries > spec.primaries) {
    return `initialPrimaries: ${spec.initialPrimaries} is more than primaries (${spec.primaries}); with hosts a founder's address comes from its placement, so primaries cannot go below initialPrimaries`;
  }
  const problem = hostsProblem(spec) ?? portsProblem(spec);
  if (problem) return problem;
  if (spec.etcd.heartbeatIntervalMs !== undefined && spec.etcd.electionTimeoutMs !== undefined && spec.etcd.electionTimeoutMs < 5 * spec.etcd.heartbeatIntervalMs) {
    return `etcd.electionTimeoutMs: ${spec.etcd.electionTimeoutMs} must be at least 5 times etcd.heartbeatIntervalMs (${spec.etcd.heartbeatIntervalMs})`;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function allowedKeysAt(path: readonly PropertyKey[]): string[] {
  let cur: z.ZodType = schema;
  for (const key of path) {
    cur = unwrap(cur);
    if (!(cur instanceof z.ZodObject)) return [];
    cur = (cur.shape as Record<string, z.ZodType>)[String(key)];
    if (!cur) return [];
  }
  cur = unwrap(cur);
  return cur instanceof z.ZodObject ? Object.keys(cur.shape) : [];
}

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodPrefault) {
    cur = (cur as z.ZodDefault<z.ZodType>).unwrap();
  }
  return cur;
}

function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const full = field ? `${field}.${key}` : key;
    const allowed = allowedKeysAt(issue.path);
    return `${full}: unknown key${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`;
  }
  if (issue.code === 'invalid_key') {
    // A record key that fails its own schema: say which key, with that schema's message.
    const key = String(issue.path[issue.path.length - 1]);
    return `${field}: ${issue.issues[0]?.message ?? 'is not an allowed key'} (got key ${JSON.stringify(key)})`;
  }
  const value = valueAt(input, issue.path);
  if (value === undefined && issue.code === 'invalid_type') return `${field}: is required`;
  // Our own messages are written for people; zod's defaults ("Invalid input: ...") are rephrased.
  let message = issue.message;
  if (/^Invalid input/.test(message)) {
    message = issue.code === 'invalid_type' ? `must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' || issue.expected === 'record' ? 'a mapping' : `a ${issue.expected}`}` : 'is not valid';
  }
  return `${field || 'spec'}: ${message} (got ${describe(value)})`;
}

/**
 * Validates a spec given as plain data (construct props, or a parsed file).
 * @param source prefixes the message, e.g. the file name.
 */
export function validateSpec(input: unknown, source?: string): ClusterSpec {
  const prefix = source ? `${source}: ` : '';
  if (input === null || input === undefined) {
    throw new SpecError(`${prefix}the spec is empty; expected a mapping with at least "name"`);
  }
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new SpecError(`${prefix}the spec must be a mapping of keys to values (got ${describe(input)})`);
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const [first, ...rest] = result.error.issues;
    const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
    throw new SpecError(`${prefix}${formatIssue(first, input)}${more}`);
  }
  const problem = crossFieldProblem(result.data);
  if (problem) throw new SpecError(`${prefix}${problem}`);
  return result.data;
}

/** Parses spec text: JSON when the file name ends in .json, YAML otherwise. */
export function parseSpecText(text: string, source: string): ClusterSpec {
  let data: unknown;
  if (source.endsWith('.json')) {
    if (text.trim() === '') data = undefined;
    else {
      try {
        data = JSON.parse(text);
      } catch (e) {
        throw new SpecError(`${source}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } else {
    const doc = YAML.parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length) {
      // The first line holds the reason and the position; the rest is a code excerpt.
      throw new SpecError(`${source}: not valid YAML: ${doc.errors[0].message.split('\n')[0].replace(/:\s*$/, '')}`);
    }
    data = doc.toJS();
  }
  return validateSpec(data, source);
}

/** Reads and validates a spec file. */
export function loadSpecFile(path: string): ClusterSpec {
  if (!existsSync(path)) {
    throw new SpecError(`${path}: spec file not found (set ${SPEC_FILE_ENV} to use another file)`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError(`${path}: cannot read the spec file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const spec = parseSpecText(text, path);
  // A spec file's paths are relative to the file, wherever synthesis runs.
  return spec.tls ? { ...spec, tls: { ...spec.tls, dir: resolve(dirname(path), spec.tls.dir) } } : spec;
}

/** The spec file `main.ts` reads: `ETCD_CLUSTER_CONFIG`, else `cluster.yaml`. */
export function specPathFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env[SPEC_FILE_ENV] || DEFAULT_SPEC_FILE;
}
