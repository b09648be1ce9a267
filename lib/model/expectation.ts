/**
 * What the topology hands to the runtime, in the contract's shapes: the target (the primaries and how to
 * reach them), the expectation the verifier checks, and each primary's member operation.
 */
import {
  CONTRACT_VERSION,
  EXPECTATION_KIND,
  MEMBER_OP_KIND,
  STAGGER_KIND,
  type CertificateFile,
  type Expectation,
  type ExpectationMessage,
  type MemberOpMessage,
  type StaggerMessage,
  type Target,
} from '../contract';
import { CA_CERT, certFile, CLIENT_NAME, IN_CONTAINER, UPSTREAM_NAME } from './pki';
import type { PrimaryNode, Topology } from './topology';
import { goDurationMs } from './duration';

/**
 * How long a founder's volume step waits for the founder before it to run. The step starts once that
 * founder's image and network are there, and the founder runs within about a second; past this (an
 * unreachable host, Terraform's parallelism taken up by the steps themselves) the founder starts anyway, as it
 * did before the step existed: the wait only saves time and never fails a deploy.
 */
export const STAGGER_TIMEOUT_SECONDS = 20;

/** The etcd version an image's tag names (`...:v3.5.21`, `...:3.5.21-local`), or null when it names none. */
export function etcdVersionOfImage(image: string): string | null {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const tag = colon > slash ? image.slice(colon + 1) : '';
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag);
  return m ? `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}` : null;
}

/** The target of the whole cluster, or of its primaries 1..count (a member operation's). */
export function targetOf(t: Topology, count = t.primaries.length): Target {
  return {
    cluster: t.name,
    primaries: t.primaries.slice(0, count).map((p) => ({
      name: p.name,
      index: p.index,
      clientUrl: p.clientUrl,
      peerUrl: p.peerUrl,
      endpoint: p.hostClientUrl,
      metrics: p.hostMetricsUrl ?? null,
      docker: hostOf(t, p),
      volume: p.volume,
    })),
    tls: t.tls ? { ca: t.tls.ca, cert: t.tls.clientCert, key: t.tls.clientKey } : null,
    auth: t.auth ? { user: 'root', passwordEnv: t.auth.passwordEnv } : null,
    image: { ref: t.image, version: etcdVersionOfImage(t.image) },
  };
}

/** The part of a topology the verifier checks; the hook carries it, the CLI reads it back. */
export function expectationOf(t: Topology): ExpectationMessage {
  return {
    kind: EXPECTATION_KIND,
    version: CONTRACT_VERSION,
    target: targetOf(t),
    registryPrefix: t.registryPrefix,
    verifyPrefix: t.verifyPrefix,
    secondaries: t.secondaries.map((s) => ({
      name: s.name,
      registrationKey: s.registers ? `${t.registryPrefix}/${s.advertiseAddress}` : null,
      endpoint: s.hostClientUrl,
      metrics: s.hostMetricsUrl ?? null,
    })),
    minRevision: t.restore ? String(t.restore.revision) : null,
    backup: t.backup
      ? {
          container: t.backup.name,
          docker: hostOf(t, t.backup),
          // Only with a store: a stack without it keeps the hook input it had.
          ...(t.backup.store
            ? {
                store: {
                  image: t.backup.image,
                  args: t.backup.store.args,
                  binds: t.backup.binds,
                  maxBehind: t.backup.store.maxBehind,
                  maxBehindMs: goDurationMs(t.backup.store.maxBehind),
                },
              }
            : {}),
        }
      : null,
    space: { ...t.space },
    // Only with TLS: a stack without it keeps the hook input it had.
    ...(t.tls ? { certificates: certificatesOf(t) } : {}),
  };
}

/**
 * Every certificate file a TLS cluster uses, and who presents it: the CA bundle, each primary's server and
 * peer certificate, each secondary's server certificate, the verifier's (and the backup container's) client
 * certificate, the grpc-proxies' upstream certificate. Only what the cluster delivers: no `upstream.crt`
 * without grpc-proxies. Null without TLS.
 */
export function certificatesOf(t: Topology): ExpectationMessage['certificates'] {
  if (!t.tls) return null;
  const delivered = (n: { uploads: { file: string; source: string }[] }, file: string) => n.uploads.find((u) => u.file === file)?.source;
  const files: CertificateFile[] = [{ name: CA_CERT, path: t.tls.ca, use: 'ca', members: [] }];
  for (const p of t.primaries) {
    const path = delivered(p, IN_CONTAINER.cert);
    if (path) files.push({ name: certFile(p.name), path, use: 'server-peer', members: [p.name] });
  }
  for (const s of t.secondaries) {
    const path = delivered(s, IN_CONTAINER.cert);
    if (path) files.push({ name: certFile(s.name), path, use: 'server', members: [s.name] });
  }
  files.push({ name: certFile(CLIENT_NAME), path: t.tls.clientCert, use: 'client', members: t.backup ? [t.backup.name] : [] });
  const proxies = t.secondaries.filter((s) => delivered(s, IN_CONTAINER.upstreamCert));
  if (proxies.length) {
    files.push({
      name: certFile(UPSTREAM_NAME),
      path: delivered(proxies[0], IN_CONTAINER.upstreamCert)!,
      use: 'upstream',
      members: proxies.map((s) => s.name),
    });
  }
  return { warnDays: t.tls.expiryWarningDays, files };
}

/**
 * The input of primary i's membership hooks. Its target lists primaries 1..i, so that growing the cluster
 * further changes no existing member's hook; a replacement lists every primary (primary i is the one replaced).
 */
export function memberOpOf(t: Topology, p: PrimaryNode): MemberOpMessage {
  return {
    kind: MEMBER_OP_KIND,
    version: CONTRACT_VERSION,
    target: targetOf(t, p.generation > 0 ? t.primaries.length : p.index),
    member: p.name,
    replaces: p.generation > 0,
  };
}

/**
 * What a founder's volume step waits for before the founder starts (see `PrimaryNode.startsAfter`), without
 * the Docker host: the constructs read it from the provider of the host the founder before it runs on.
 * Undefined when the primary starts without waiting.
 */
export function staggerOf(t: Topology, p: PrimaryNode): Omit<StaggerMessage, 'docker'> | undefined {
  if (!p.startsAfter) return undefined;
  return { kind: STAGGER_KIND, cluster: t.name, member: p.name, after: p.startsAfter, timeoutSeconds: STAGGER_TIMEOUT_SECONDS };
}

/** One line per member, for `triggers_replace`: it changes exactly when membership does. */
export function membershipOf(e: Expectation): string {
  return [...e.target.primaries.map((p) => `${p.name}=${p.peerUrl}`), ...e.secondaries.map((s) => `${s.name}=${s.registrationKey ?? s.endpoint}`)].join(',');
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
