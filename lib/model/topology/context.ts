/**
 * What every member of a cluster shares, computed once from the spec: names, scheme, addresses, placement,
 * TLS flags and files, labels and healthchecks. The role modules (primaries.ts, secondaries.ts) build their
 * members from it.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { DEFAULTS } from '../defaults';
import { CA_CERT, certFile, IN_CONTAINER, keyFile } from '../pki';
import type { SpecFacts } from '../facts';
import type { Placement } from '../placement';
import type { ClusterSpec } from '../props';
import type { SecondaryKind } from '../secondary-kind';
import { ETCDCTL_BIN, LABEL_CLUSTER, LABEL_HEALTHCHECK, LABEL_ROLE, METRICS_PORT, type Healthcheck, type Upload } from './types';

export interface ClusterContext {
  readonly spec: ClusterSpec;
  readonly name: string;
  readonly token: string;
  readonly scheme: 'http' | 'https';
  /** The TLS directory on the deploying machine, absolute; undefined without TLS. */
  readonly tlsDir?: string;
  /** Where client ports are published on a single host, and the address the machine reaches them at. */
  readonly bindAddress: string;
  readonly hostAddress: string;
  readonly place: Placement;
  /** What the secondaries are (decided once, in the spec's facts). */
  readonly secondaryKind: SecondaryKind;
  readonly registryPrefix: string;
  readonly verifyPrefix: string;
  readonly discovery: { readonly primaries: string; readonly secondaries: string };
}

/** The address the host uses to reach a published port: a wildcard bind is reached through loopback. */
function reachableAddress(bindAddress: string): string {
  return bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress;
}

export function contextOf({ spec, placement, secondaryKind }: SpecFacts): ClusterContext {
  const bindAddress = spec.ports.bindAddress ?? DEFAULTS.bindAddress;
  const tlsDir = spec.tls ? resolve(spec.tls.dir) : undefined;
  return {
    spec,
    name: spec.name,
    token: spec.token ?? DEFAULTS.token(spec.name),
    scheme: tlsDir ? 'https' : 'http',
    tlsDir,
    bindAddress,
    hostAddress: reachableAddress(bindAddress),
    place: placement,
    secondaryKind,
    registryPrefix: `/cdktf-etcd-cluster/${spec.name}/secondaries`,
    verifyPrefix: `/cdktf-etcd-cluster/${spec.name}/verify/`,
    discovery: { primaries: `${spec.name}-primaries`, secondaries: `${spec.name}-secondaries` },
  };
}

/** A published metrics port and the URL the deploying machine reaches it at, with `metrics` in the spec. */
export function metricsOf(external: number | undefined, ip: string, reachAt: string) {
  if (external === undefined) return {};
  return { metricsPort: { internal: METRICS_PORT, external, ip }, hostMetricsUrl: `http://${reachAt}:${external}/metrics` };
}

export function primaryName(cluster: string, i: number): string {
  return `${cluster}-primary-${i}`;
}

export function secondaryName(cluster: string, j: number): string {
  return `${cluster}-secondary-${j}`;
}

/** A file on the deploying machine, in the cluster's TLS directory. */
export const tlsFile = (ctx: ClusterContext, file: string) => join(ctx.tlsDir!, file);

/** A node's own certificate and key, and the CA, delivered into its container; nothing without TLS. */
export function nodeUploads(ctx: ClusterContext, node: string): Upload[] {
  if (!ctx.tlsDir) return [];
  return [
    { file: IN_CONTAINER.ca, source: tlsFile(ctx, CA_CERT), permissions: '0644' },
    { file: IN_CONTAINER.cert, source: tlsFile(ctx, certFile(node)), permissions: '0644' },
    { file: IN_CONTAINER.key, source: tlsFile(ctx, keyFile(node)), permissions: '0600' },
  ];
}

/** etcdctl's TLS flags inside a container, with the node's own certificate. */
export function etcdctlTlsFlags(ctx: ClusterContext): string[] {
  return ctx.tlsDir ? [`--cacert=${IN_CONTAINER.ca}`, `--cert=${IN_CONTAINER.cert}`, `--key=${IN_CONTAINER.key}`] : [];
}

/** `etcdctl endpoint health` against a port of the container itself, in exec form (official images have no shell). */
export function etcdctlHealth(ctx: ClusterContext, port: number): string[] {
  return ['CMD', ETCDCTL_BIN, `--endpoints=${ctx.scheme}://127.0.0.1:${port}`, ...etcdctlTlsFlags(ctx), '--command-timeout=2s', 'endpoint', 'health'];
}

/**
 * How often Docker runs each role's healthcheck. Every check is a process exec'd into the container, which
 * costs Docker and runc a process start (measured: 20 grpc-proxies checked every 5 s kept about a quarter of
 * a 2-core machine busy, see BENCHMARKS.md). Primaries are at most 9 and checked every 5 s; secondaries can
 * be many and are checked every 30 s, Docker's own default. Nothing of ours waits on Docker's health status
 * (the hooks and the CLI ask etcd), so it only changes how soon `docker ps` shows a container unhealthy.
 */
export const HEALTHCHECK_INTERVAL = { primary: '5s', secondary: '30s' } as const;

/** The timings every member's healthcheck had when LABEL_HEALTHCHECK was introduced (see healthDigest). */
const FIRST_TIMINGS = { interval: '5s', timeout: '3s', startPeriod: '10s', retries: 3 } as const;

/** A healthcheck of this command with the timings of its role. */
export function healthcheckOf(test: readonly string[], interval: string): Healthcheck {
  return { test: [...test], ...FIRST_TIMINGS, interval };
}

const digestOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/**
 * The digest of a healthcheck (see LABEL_HEALTHCHECK): of the command alone while every timing is still
 * FIRST_TIMINGS (so that members deployed since the label came keep it and are not replaced), of the whole
 * check as soon as any timing differs (the provider applies no healthcheck edit: only a new label does).
 */
const healthDigest = (h: Healthcheck) => {
  const { test, ...timings } = h;
  const unchanged = (Object.keys(FIRST_TIMINGS) as (keyof typeof FIRST_TIMINGS)[]).every((k) => timings[k] === FIRST_TIMINGS[k]);
  return digestOf(unchanged ? test : h);
};

/** Labels of a member: its cluster, its role, and the digest of its healthcheck (see LABEL_HEALTHCHECK). */
export function labelsOf(ctx: ClusterContext, role: 'primary' | 'secondary' | 'backup', health?: Healthcheck): Record<string, string> {
  return { [LABEL_CLUSTER]: ctx.name, [LABEL_ROLE]: role, ...(health ? { [LABEL_HEALTHCHECK]: healthDigest(health) } : {}) };
}
