/**
 * What the topology hands to the runtime, in the contract's shapes: the expectation the verifier checks,
 * and each primary's member operation.
 */
import { EXPECTATION_KIND, MEMBER_OP_KIND, type Expectation, type MemberOp } from '../contract';
import type { PrimaryNode, Topology } from './topology';

/** The part of a topology the verifier checks; the hook carries it, the CLI reads it back. */
export function expectationOf(t: Topology): Expectation {
  return {
    kind: EXPECTATION_KIND,
    version: 1,
    cluster: t.name,
    registryPrefix: t.registryPrefix,
    verifyPrefix: t.verifyPrefix,
    primaries: t.primaries.map((p) => ({
      name: p.name,
      peerUrl: p.peerUrl,
      clientUrl: p.clientUrl,
      endpoint: p.hostClientUrl,
      metrics: p.hostMetricsUrl ?? null,
    })),
    secondaries: t.secondaries.map((s) => ({
      name: s.name,
      registrationKey: s.registers ? `${t.registryPrefix}/${s.advertiseAddress}` : null,
      endpoint: s.hostClientUrl,
      metrics: s.hostMetricsUrl ?? null,
    })),
    tls: t.tls ? { ca: t.tls.ca, cert: t.tls.clientCert, key: t.tls.clientKey } : null,
    auth: t.auth ? { user: 'root', passwordEnv: t.auth.passwordEnv } : null,
    minRevision: t.restore ? String(t.restore.revision) : null,
    backup: t.backup ? { container: t.backup.name, docker: hostOf(t, t.backup) } : null,
  };
}

/** The input of primary i's membership hooks. */
export function memberOpOf(t: Topology, p: PrimaryNode): MemberOp {
  const e = expectationOf(t);
  return {
    kind: MEMBER_OP_KIND,
    version: 1,
    cluster: t.name,
    name: p.name,
    peerUrl: p.peerUrl,
    endpoints: t.primaries.slice(0, p.generation > 0 ? t.primaries.length : p.index).map((x) => x.hostClientUrl),
    replaces: p.generation > 0,
    volume: p.volume,
    docker: hostOf(t, p),
    tls: e.tls,
    auth: e.auth,
  };
}

/** One line per member, for `triggers_replace`: it changes exactly when membership does. */
export function membershipOf(e: Expectation): string {
  return [...e.primaries.map((p) => `${p.name}=${p.peerUrl}`), ...e.secondaries.map((s) => `${s.name}=${s.registrationKey ?? s.endpoint}`)].join(',');
}

/** The replaced primaries and their generations (`<name>=r<g>`), for the hook's trigger; empty when none. */
export function replacementsOf(t: Topology): string {
  return t.primaries
    .filter((p) => p.generation > 0)
    .map((p) => `${p.name}=r${p.generation}`)
    .join(',');
}

/** The Docker host a member runs on, as its hooks reach it; null for a single-host cluster. */
export function hostOf(t: Topology, n: { readonly host?: string }): { host: string; sshOpts: string[] } | null {
  const h = t.hosts.find((x) => x.name === n.host);
  return h ? { host: h.docker, sshOpts: h.sshOpts } : null;
}

/** A host port a member publishes, and on which Docker host: '' for the stack's own provider. */
export interface PublishedHostPort {
  readonly dockerHost: string;
  readonly ip: string;
  readonly port: number;
  readonly member: string;
}

/** Every host port the cluster publishes, to find clashes between clusters deployed together. */
export function publishedPortsOf(t: Topology): PublishedHostPort[] {
  return [...t.primaries, ...t.secondaries].flatMap((n) => {
    const dockerHost = hostOf(t, n)?.host ?? '';
    const ports = [n.port, ...(n.role === 'primary' && n.peerPort ? [n.peerPort] : []), ...(n.metricsPort ? [n.metricsPort] : [])];
    return ports.map((p) => ({ dockerHost, ip: p.ip, port: p.external, member: n.name }));
  });
}
