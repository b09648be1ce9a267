/**
 * The topology: a validated spec turned into members, as plain data (no cdktf here).
 *
 * Constructs render it into Docker resources; the verifier checks a live cluster against the
 * `Expectation` derived from it. Every name, URL, port and flag is computed here and only here.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { DEFAULT_PEER_BASE, placementOf, type ClusterSpec } from './spec';

/** Client and peer ports inside every etcd container. */
export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;
/** Where each primary's volume is mounted; etcd creates its data dir (mode 0700) below it. */
export const DATA_MOUNT = '/var/lib/etcd';
export const DATA_DIR = `${DATA_MOUNT}/data`;
export const ETCD_BIN = '/usr/local/bin/etcd';
export const ETCDCTL_BIN = '/usr/local/bin/etcdctl';
/** Seconds between SIGTERM and SIGKILL when Terraform stops a container: etcd needs well under one. */
export const STOP_GRACE_SECONDS = 30;
/** Docker label keys put on every object of a cluster. */
export const LABEL_CLUSTER = 'cdktf-etcd-cluster.cluster';
export const LABEL_ROLE = 'cdktf-etcd-cluster.role';
/**
 * A digest of the container's healthcheck command. The provider plans a healthcheck edit as an in-place
 * update that never reaches the container (measured with kreuzwerker/docker 4.6.0); a changed label
 * replaces the container, and the new one gets the new check.
 */
export const LABEL_HEALTHCHECK = 'cdktf-etcd-cluster.healthcheck';
export const EXPECTATION_KIND = 'cdktf-etcd-cluster/expectation';
/** Where certificates land inside every container of a TLS cluster. */
export const PKI_MOUNT = '/etc/etcd/pki';
const IN_CA = `${PKI_MOUNT}/ca.crt`;
const IN_CERT = `${PKI_MOUNT}/node.crt`;
const IN_KEY = `${PKI_MOUNT}/node.key`;
const IN_UPSTREAM_CERT = `${PKI_MOUNT}/upstream.crt`;
const IN_UPSTREAM_KEY = `${PKI_MOUNT}/upstream.key`;

/** A file delivered into a container (the provider's `upload` with `source`: never stored in state). */
export interface Upload {
  /** Path inside the container. */
  readonly file: string;
  /** Path on the deploying machine. */
  readonly source: string;
  readonly permissions: string;
}

/** A Docker healthcheck, durations in Go's canonical form so that the provider reads them back unchanged. */
export interface Healthcheck {
  readonly test: string[];
  readonly interval: string;
  readonly timeout: string;
  readonly startPeriod: string;
  readonly retries: number;
}

export interface PublishedPort {
  readonly internal: number;
  readonly external: number;
  readonly ip: string;
}

/** A Docker host of a multi-host cluster, as the spec declares it. */
export interface HostTarget {
  /** Host name; also the Docker provider's alias. */
  readonly name: string;
  /** The provider's `host`: `unix://...`, `tcp://...` or `ssh://user@host`. */
  readonly docker: string;
  readonly sshOpts: string[];
  /** Address other hosts reach it at; its members' ports are published there. */
  readonly address: string;
}

interface NodeBase {
  /** 1-based position among its role. */
  readonly index: number;
  /** Name of the Docker host it runs on; undefined for a single-host cluster. */
  readonly host?: string;
  /** Container name, hostname and (for primaries) etcd member name. */
  readonly name: string;
  readonly image: string;
  readonly command: string[];
  readonly env: Record<string, string>;
  readonly port: PublishedPort;
  /** Where the host reaches this node's client port. */
  readonly hostClientUrl: string;
  readonly healthcheck?: Healthcheck;
  /** Seconds Docker waits after SIGTERM before it kills the container, on destroy and replace. */
  readonly stopGraceSeconds: number;
  readonly labels: Record<string, string>;
  /** Files to deliver before start (certificates of a TLS cluster). */
  readonly uploads: Upload[];
}

export interface PrimaryNode extends NodeBase {
  readonly role: 'primary';
  /**
   * True for a primary above `initialPrimaries`, or one being replaced: it joins a running cluster
   * (learner, then promoted).
   */
  readonly joins: boolean;
  /** Replacement generation from the spec's `replace`: 0 for the original member. */
  readonly generation: number;
  readonly peerUrl: string;
  readonly clientUrl: string;
  readonly volume: string;
  /** The peer port, published only when the cluster spans hosts (peers on other hosts dial it). */
  readonly peerPort?: PublishedPort;
}

export interface SecondaryNode extends NodeBase {
  readonly role: 'secondary';
  /** Address the secondary advertises, and the key suffix of its registration (`<prefix>/<address>`). */
  readonly advertiseAddress: string;
  readonly registers: boolean;
}

export interface Topology {
  readonly name: string;
  /** Docker hosts of a multi-host cluster, in spec order; empty for a single host. */
  readonly hosts: HostTarget[];
  readonly token: string;
  readonly image: string;
  /** Image of the secondaries: the cluster's, unless `secondary.image` says otherwise. */
  readonly secondaryImage: string;
  readonly network: { readonly name: string; readonly subnet?: string; readonly gateway?: string };
  /** `--initial-cluster`: every primary as `<name>=<peer url>`. */
  readonly initialCluster: string;
  /** Secondaries register under this prefix. */
  readonly registryPrefix: string;
  /** The verifier writes its probe keys under this prefix. */
  readonly verifyPrefix: string;
  readonly primaries: PrimaryNode[];
  /** Primary numbers above the declared count (up to 9): members that may have existed and must leave. */
  readonly absentPrimaries: number[];
  readonly secondaries: SecondaryNode[];
  readonly verify: { readonly enabled: boolean; readonly timeoutSeconds: number; readonly command: string };
  /** etcd RBAC, enabled by the hook after bootstrap. */
  readonly auth?: { readonly passwordEnv: string };
  /** TLS material on the deploying machine, when the cluster uses TLS. */
  readonly tls?: {
    readonly dir: string;
    /** Every node needing a certificate, with the IPs it must cover besides 127.0.0.1. */
    readonly nodes: { name: string; ips: string[] }[];
    readonly ca: string;
    readonly clientCert: string;
    readonly clientKey: string;
  };
}

export const MEMBER_OP_KIND = 'cdktf-etcd-cluster/member';

/** What `etcd-cluster member add|promote|remove` needs: the member, and where the cluster answers. */
export interface MemberOp {
  readonly kind: typeof MEMBER_OP_KIND;
  readonly version: 1;
  readonly cluster: string;
  readonly name: string;
  readonly peerUrl: string;
  /**
   * Host endpoints of primaries 1..i: stable while the cluster grows further. A replacement lists every
   * primary, since primary i itself is the one being replaced.
   */
  readonly endpoints: string[];
  /** True when the member replaces an earlier one of the same name (spec `replace`): add removes the old one first. */
  readonly replaces: boolean;
  /** The member's data volume, which must not exist yet when it joins (a leftover holds a removed member's data). */
  readonly volume: string;
  /** Docker host of the volume (`unix://...`, `ssh://...`); null: the deploying machine's default (DOCKER_HOST). */
  readonly docker: { readonly host: string; readonly sshOpts: string[] } | null;
  readonly tls: Expectation['tls'];
  readonly auth: Expectation['auth'];
}

/** What the verifier needs to know of a cluster; serialized into the hook and read back by the CLI. */
export interface Expectation {
  readonly kind: typeof EXPECTATION_KIND;
  readonly version: 1;
  readonly cluster: string;
  readonly registryPrefix: string;
  readonly verifyPrefix: string;
  readonly primaries: { name: string; peerUrl: string; clientUrl: string; endpoint: string }[];
  readonly secondaries: { name: string; registrationKey: string | null; endpoint: string }[];
  /** Client certificate the verifier presents, when the cluster uses TLS. */
  readonly tls: { ca: string; cert: string; key: string } | null;
  /** etcd RBAC: the verifier logs in as `user` with the password from `passwordEnv`. */
  readonly auth: { user: 'root'; passwordEnv: string } | null;
}

function gatewayOf(subnet: string): string {
  const [addr] = subnet.split('/');
  const octets = addr.split('.').map(Number);
  octets[3] += 1;
  return octets.join('.');
}

/** The address the host uses to reach a published port: a wildcard bind is reached through loopback. */
function reachableAddress(bindAddress: string): string {
  return bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress;
}

const digestOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

const fill = (template: string, values: Record<string, string>) =>
  template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);

export function primaryName(cluster: string, i: number): string {
  return `${cluster}-primary-${i}`;
}

export function secondaryName(cluster: string, j: number): string {
  return `${cluster}-secondary-${j}`;
}

export function buildTopology(spec: ClusterSpec): Topology {
  const { name } = spec;
  const token = spec.token ?? `${name}-etcd-cluster`;
  const bindAddress = spec.ports.bindAddress ?? '127.0.0.1';
  const hostAddress = reachableAddress(bindAddress);
  const hosts: HostTarget[] = (spec.hosts ?? []).map((h) => ({ name: h.name, docker: h.docker, sshOpts: [...h.sshOpts], address: h.address }));
  const place = placementOf(spec);
  const peerBase = spec.ports.peerBase ?? DEFAULT_PEER_BASE;
  const registryPrefix = `/cdktf-etcd-cluster/${name}/secondaries`;
  const verifyPrefix = `/cdktf-etcd-cluster/${name}/verify/`;
  const clusterLabels = { [LABEL_CLUSTER]: name };

  const names = Array.from({ length: spec.primaries }, (_, k) => primaryName(name, k + 1));
  const tlsDir = spec.tls ? resolve(spec.tls.dir) : undefined;
  const scheme = tlsDir ? 'https' : 'http';
  // Where each primary is reached. On one host: by container name inside the cluster's network, and through
  // its published client port from the host. Across hosts: at its host's address, peers included.
  const reach = place.primaries.map(({ host, slot }, k) => {
    const clientExt = spec.ports.primaryBase + slot;
    const h = spec.hosts?.[host];
    if (!h) {
      const n = names[k];
      return {
        peerUrl: `${scheme}://${n}:${PEER_PORT}`,
        clientUrl: `${scheme}://${n}:${CLIENT_PORT}`,
        hostClientUrl: `${scheme}://${hostAddress}:${clientExt}`,
        port: { internal: CLIENT_PORT, external: clientExt, ip: bindAddress },
      };
    }
    const url = `${scheme}://${h.address}:${clientExt}`;
    return {
      host: h.name,
      peerUrl: `${scheme}://${h.address}:${peerBase + slot}`,
      clientUrl: url,
      hostClientUrl: url,
      port: { internal: CLIENT_PORT, external: clientExt, ip: h.address },
      peerPort: { internal: PEER_PORT, external: peerBase + slot, ip: h.address },
    };
  });
  // Each node's own certificate and key, and the CA, delivered into the container.
  const uploadsFor = (n: string): Upload[] =>
    tlsDir
      ? [
          { file: IN_CA, source: join(tlsDir, 'ca.crt'), permissions: '0644' },
          { file: IN_CERT, source: join(tlsDir, `${n}.crt`), permissions: '0644' },
          { file: IN_KEY, source: join(tlsDir, `${n}.key`), permissions: '0600' },
        ]
      : [];
  const serverTls = tlsDir
    ? [`--cert-file=${IN_CERT}`, `--key-file=${IN_KEY}`, `--trusted-ca-file=${IN_CA}`, '--client-cert-auth',
       `--peer-cert-file=${IN_CERT}`, `--peer-key-file=${IN_KEY}`, `--peer-trusted-ca-file=${IN_CA}`, '--peer-client-cert-auth']
    : [];
  const etcdctlTls = tlsDir ? [`--cacert=${IN_CA}`, `--cert=${IN_CERT}`, `--key=${IN_KEY}`] : [];
  const healthTest = (port: number) => ['CMD', ETCDCTL_BIN, `--endpoints=${scheme}://127.0.0.1:${port}`, ...etcdctlTls, '--command-timeout=2s', 'endpoint', 'health'];
  // The same host strings as --initial-advertise-peer-urls: etcd compares them as strings before any DNS lookup.
  // Founders (1..initialPrimaries) bootstrap together; a joiner i starts with members 1..i, state existing.
  const initialCount = spec.initialPrimaries ?? spec.primaries;
  const clusterOf = (upTo: number) => names.slice(0, upTo).map((n, k) => `${n}=${reach[k].peerUrl}`).join(',');
  // After a shrink below initialPrimaries the founders' list still names every founder, so that the
  // remaining founders' flags stay byte-identical (on one host an absent founder's URL follows its name).
  const initialCluster = Array.from({ length: initialCount }, (_, k) => {
    const n = primaryName(name, k + 1);
    return `${n}=${k < reach.length ? reach[k].peerUrl : `${scheme}://${n}:${PEER_PORT}`}`;
  }).join(',');
  const tuning: string[] = [];
  if (spec.etcd.heartbeatIntervalMs !== undefined) tuning.push(`--heartbeat-interval=${spec.etcd.heartbeatIntervalMs}`);
  if (spec.etcd.electionTimeoutMs !== undefined) tuning.push(`--election-timeout=${spec.etcd.electionTimeoutMs}`);

  const primaries: PrimaryNode[] = names.map((n, k) => {
    const { port, peerPort, peerUrl, clientUrl, hostClientUrl } = reach[k];
    const generation = spec.replace[String(k + 1)] ?? 0;
    const joins = k + 1 > initialCount || generation > 0;
    // etcd admits a joiner only when --initial-cluster lists exactly the members it finds: primaries 1..i
    // while growing, every primary when one is replaced.
    const joinCluster = generation > 0 ? clusterOf(names.length) : clusterOf(k + 1);
    return {
      role: 'primary',
      index: k + 1,
      joins,
      generation,
      name: n,
      image: spec.image,
      ...(reach[k].host ? { host: reach[k].host } : {}),
      peerUrl,
      clientUrl,
      // A replacement starts empty: a new volume name makes Terraform replace the old one.
      volume: generation > 0 ? `${n}-data-r${generation}` : `${n}-data`,
      // Flags only: an ETCD_* variable next to its flag makes etcd exit.
      command: [
        ETCD_BIN,
        `--name=${n}`,
        `--data-dir=${DATA_DIR}`,
        `--listen-peer-urls=${scheme}://0.0.0.0:${PEER_PORT}`,
        `--listen-client-urls=${scheme}://0.0.0.0:${CLIENT_PORT}`,
        `--advertise-client-urls=${clientUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=${joins ? joinCluster : initialCluster}`,
        `--initial-cluster-state=${joins ? 'existing' : 'new'}`,
        `--initial-cluster-token=${token}`,
        ...serverTls,
        ...tuning,
      ],
      env: {},
      port,
      ...(peerPort ? { peerPort } : {}),
      hostClientUrl,
      // Exec form: official etcd images are distroless, with no shell.
      healthcheck: {
        test: healthTest(CLIENT_PORT),
        interval: '5s',
        timeout: '3s',
        startPeriod: '10s',
        retries: 3,
      },
      stopGraceSeconds: STOP_GRACE_SECONDS,
      labels: { ...clusterLabels, [LABEL_ROLE]: 'primary', [LABEL_HEALTHCHECK]: digestOf(healthTest(CLIENT_PORT)) },
      uploads: uploadsFor(n),
    };
  });

  const custom = spec.secondary.command !== undefined;
  // etcd 3.4's grpc-proxy has no credentials for its own writes: with RBAC on it cannot register.
  const proxyRegisters = !custom && !spec.auth;
  const secondaryImage = spec.secondary.image ?? spec.image;
  const secondaryPort = spec.secondary.clientPort;
  const endpointsCsv = primaries.map((p) => p.clientUrl).join(',');
  const addressesCsv = primaries.map((p) => p.clientUrl.replace(/^https?:\/\//, '')).join(',');
  const secondaries: SecondaryNode[] = Array.from({ length: spec.secondaries }, (_, k) => {
    const n = secondaryName(name, k + 1);
    const { host, slot } = place.secondaries[k];
    const h = spec.hosts?.[host];
    const external = spec.ports.secondaryBase + slot;
    // Across hosts, clients on other hosts reach it at its host's address.
    const advertiseAddress = h ? `${h.address}:${external}` : `${n}:${secondaryPort}`;
    const port = { internal: secondaryPort, external, ip: h ? h.address : bindAddress };
    const values = { endpoints: endpointsCsv, addresses: addressesCsv, name: n, prefix: registryPrefix };
    const command = custom
      ? spec.secondary.command!.map((t) => fill(t, values))
      : [
          ETCD_BIN,
          'grpc-proxy',
          'start',
          `--endpoints=${endpointsCsv}`,
          `--listen-addr=0.0.0.0:${secondaryPort}`,
          // Each proxy advertises itself, or all proxies would overwrite one registration key.
          `--advertise-client-url=${advertiseAddress}`,
          ...(proxyRegisters ? [`--resolver-prefix=${registryPrefix}`, `--resolver-ttl=${spec.secondary.registrationTtlSeconds}`] : []),
          // TLS towards the primaries (client side), then towards its own clients (server side).
          ...(tlsDir ? [`--cacert=${IN_CA}`, `--cert=${IN_UPSTREAM_CERT}`, `--key=${IN_UPSTREAM_KEY}`, `--cert-file=${IN_CERT}`, `--key-file=${IN_KEY}`, `--trusted-ca-file=${IN_CA}`] : []),
        ];
    const health = spec.secondary.healthcheck ?? (custom ? undefined : healthTest(secondaryPort));
    return {
      role: 'secondary',
      index: k + 1,
      ...(h ? { host: h.name } : {}),
      name: n,
      image: secondaryImage,
      advertiseAddress,
      registers: spec.secondary.registers ?? proxyRegisters,
      command,
      // A custom secondary gets the primaries the way etcdctl expects them; the grpc-proxy gets flags only.
      env: custom
        ? { ETCDCTL_ENDPOINTS: endpointsCsv, ...(tlsDir ? { ETCDCTL_CACERT: IN_CA, ETCDCTL_CERT: IN_CERT, ETCDCTL_KEY: IN_KEY } : {}), ...spec.secondary.env }
        : { ...spec.secondary.env },
      port,
      hostClientUrl: `${scheme}://${h ? h.address : hostAddress}:${port.external}`,
      healthcheck: health && { test: health, interval: '5s', timeout: '3s', startPeriod: '10s', retries: 3 },
      stopGraceSeconds: STOP_GRACE_SECONDS,
      labels: { ...clusterLabels, [LABEL_ROLE]: 'secondary', ...(health ? { [LABEL_HEALTHCHECK]: digestOf(health) } : {}) },
      uploads:
        tlsDir && !custom
          ? [
              ...uploadsFor(n),
              { file: IN_UPSTREAM_CERT, source: join(tlsDir, 'upstream.crt'), permissions: '0644' },
              { file: IN_UPSTREAM_KEY, source: join(tlsDir, 'upstream.key'), permissions: '0600' },
            ]
          : uploadsFor(n),
    };
  });

  return {
    name,
    hosts,
    token,
    image: spec.image,
    secondaryImage,
    network: {
      name: `${name}-net`,
      ...(spec.network.subnet ? { subnet: spec.network.subnet, gateway: gatewayOf(spec.network.subnet) } : {}),
    },
    initialCluster,
    registryPrefix,
    verifyPrefix,
    primaries,
    absentPrimaries: Array.from({ length: 9 - spec.primaries }, (_, k) => spec.primaries + k + 1),
    secondaries,
    verify: { ...spec.verify },
    ...(spec.auth ? { auth: { passwordEnv: spec.auth.passwordEnv } } : {}),
    ...(tlsDir
      ? {
          tls: {
            dir: tlsDir,
            // A certificate must also cover the address clients are published on, unless that is a wildcard.
            nodes: [...primaries, ...secondaries].map((n) => {
              const ip = n.host ? n.port.ip : hostAddress;
              return { name: n.name, ips: ip === '127.0.0.1' ? [] : [ip] };
            }),
            ca: join(tlsDir, 'ca.crt'),
            clientCert: join(tlsDir, 'client.crt'),
            clientKey: join(tlsDir, 'client.key'),
          },
        }
      : {}),
  };
}

/** The part of a topology the verifier checks; the hook carries it, the CLI reads it back. */
export function expectationOf(t: Topology): Expectation {
  return {
    kind: EXPECTATION_KIND,
    version: 1,
    cluster: t.name,
    registryPrefix: t.registryPrefix,
    verifyPrefix: t.verifyPrefix,
    primaries: t.primaries.map((p) => ({ name: p.name, peerUrl: p.peerUrl, clientUrl: p.clientUrl, endpoint: p.hostClientUrl })),
    secondaries: t.secondaries.map((s) => ({
      name: s.name,
      registrationKey: s.registers ? `${t.registryPrefix}/${s.advertiseAddress}` : null,
      endpoint: s.hostClientUrl,
    })),
    tls: t.tls ? { ca: t.tls.ca, cert: t.tls.clientCert, key: t.tls.clientKey } : null,
    auth: t.auth ? { user: 'root', passwordEnv: t.auth.passwordEnv } : null,
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
  return t.primaries.filter((p) => p.generation > 0).map((p) => `${p.name}=r${p.generation}`).join(',');
}

/** The Docker host a member runs on, as its hooks reach it; null for a single-host cluster. */
export function hostOf(t: Topology, n: PrimaryNode | SecondaryNode): { host: string; sshOpts: string[] } | null {
  const h = t.hosts.find((x) => x.name === n.host);
  return h ? { host: h.docker, sshOpts: h.sshOpts } : null;
}
