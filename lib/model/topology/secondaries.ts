/**
 * The stateless members: etcd clients published on the host. What the secondaries are is decided once, in
 * the spec's facts (`../secondary-kind.ts`); how each kind is rendered is one entry of `KINDS`: its command,
 * environment, healthcheck, uploads and whether it registers under the cluster's prefix.
 */
import { certFile, IN_CONTAINER, keyFile, UPSTREAM_NAME } from '../pki';
import type { CustomKind, GrpcProxyKind, SecondaryKind } from '../secondary-kind';
import { etcdctlHealth, HEALTHCHECK_INTERVAL, healthcheckOf, labelsOf, metricsOf, nodeUploads, secondaryName, tlsFile, type ClusterContext } from './context';
import { ETCD_BIN, METRICS_PORT, STOP_GRACE_SECONDS, type PrimaryNode, type SecondaryNode, type Upload } from './types';

/** One secondary as its kind sees it: where it is, what it advertises, and the primaries it talks to. */
interface SecondaryPlace {
  readonly name: string;
  readonly advertiseAddress: string;
  /** The primaries' client URLs, comma-separated, and the same as host:port. */
  readonly endpoints: string;
  readonly addresses: string;
}

/** How secondaries of one kind are rendered. */
interface SecondaryRendering {
  readonly command: (ctx: ClusterContext, s: SecondaryPlace) => string[];
  readonly env: (ctx: ClusterContext, s: SecondaryPlace) => Record<string, string>;
  /** The healthcheck command when the spec names none. */
  readonly healthcheck: (ctx: ClusterContext) => string[] | undefined;
  readonly uploads: (ctx: ClusterContext, s: SecondaryPlace) => Upload[];
  /** Whether it writes a registration under the cluster's prefix, unless the spec says otherwise. */
  readonly registers: (ctx: ClusterContext) => boolean;
}

const fill = (template: string, values: Record<string, string>) => template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);

// etcd's grpc-proxy has no credentials for its own writes: with RBAC on it cannot register.
const proxyRegisters = (ctx: ClusterContext) => !ctx.spec.auth;

/** The rendering of each kind of secondary, given the kind decided from the spec. */
export const KINDS: {
  readonly 'grpc-proxy': (kind: GrpcProxyKind) => SecondaryRendering;
  readonly custom: (kind: CustomKind) => SecondaryRendering;
} = {
  /** etcd's own grpc-proxy, registering itself (`--resolver-prefix`) so that clients can find it. */
  'grpc-proxy': () => ({
    command: (ctx, s): string[] => {
      const { ca, cert, key, upstreamCert, upstreamKey } = IN_CONTAINER;
      return [
        ETCD_BIN,
        'grpc-proxy',
        'start',
        `--endpoints=${s.endpoints}`,
        `--listen-addr=0.0.0.0:${ctx.spec.secondary.clientPort}`,
        // Each proxy advertises itself, or all proxies would overwrite one registration key.
        `--advertise-client-url=${s.advertiseAddress}`,
        ...(proxyRegisters(ctx) ? [`--resolver-prefix=${ctx.registryPrefix}`, `--resolver-ttl=${ctx.spec.secondary.registrationTtlSeconds}`] : []),
        // TLS towards the primaries (client side), then towards its own clients (server side).
        ...(ctx.tlsDir
          ? [`--cacert=${ca}`, `--cert=${upstreamCert}`, `--key=${upstreamKey}`, `--cert-file=${cert}`, `--key-file=${key}`, `--trusted-ca-file=${ca}`]
          : []),
        ...(ctx.spec.metrics ? [`--metrics-addr=http://0.0.0.0:${METRICS_PORT}`] : []),
        ...ctx.spec.secondary.extraFlags,
      ];
    },
    // Flags only: etcd refuses an ETCD_* variable next to its flag.
    env: (ctx) => ({ ...ctx.spec.secondary.env }),
    healthcheck: (ctx) => etcdctlHealth(ctx, ctx.spec.secondary.clientPort),
    uploads: (ctx, s) =>
      ctx.tlsDir
        ? [
            ...nodeUploads(ctx, s.name),
            // etcd's grpc-proxy refuses a certificate with a Common Name towards the primaries.
            { file: IN_CONTAINER.upstreamCert, source: tlsFile(ctx, certFile(UPSTREAM_NAME)), permissions: '0644' },
            { file: IN_CONTAINER.upstreamKey, source: tlsFile(ctx, keyFile(UPSTREAM_NAME)), permissions: '0600' },
          ]
        : [],
    registers: (ctx) => proxyRegisters(ctx),
  }),
  /** The user's own etcd client (an application node): its command with placeholders, and ETCDCTL_* variables. */
  custom: (kind) => ({
    command: (ctx, s) =>
      kind.command.map((t) =>
        fill(t, {
          endpoints: s.endpoints,
          addresses: s.addresses,
          name: s.name,
          prefix: ctx.registryPrefix,
          primaries: ctx.discovery.primaries,
          secondaries: ctx.discovery.secondaries,
        }),
      ),
    env: (ctx, s) => ({
      ETCDCTL_ENDPOINTS: s.endpoints,
      ...(ctx.tlsDir ? { ETCDCTL_CACERT: IN_CONTAINER.ca, ETCDCTL_CERT: IN_CONTAINER.cert, ETCDCTL_KEY: IN_CONTAINER.key } : {}),
      ...ctx.spec.secondary.env,
    }),
    healthcheck: () => undefined,
    uploads: (ctx, s) => nodeUploads(ctx, s.name),
    registers: () => false,
  }),
};

function renderingOf(kind: SecondaryKind): SecondaryRendering {
  switch (kind.name) {
    case 'grpc-proxy':
      return KINDS['grpc-proxy'](kind);
    case 'custom':
      return KINDS.custom(kind);
  }
}

export function secondariesOf(ctx: ClusterContext, primaries: PrimaryNode[]): SecondaryNode[] {
  const { spec, scheme } = ctx;
  const render = renderingOf(ctx.secondaryKind);
  const endpoints = primaries.map((p) => p.clientUrl).join(',');
  const addresses = primaries.map((p) => p.clientUrl.replace(/^https?:\/\//, '')).join(',');
  const clientPort = spec.secondary.clientPort;
  const test = spec.secondary.healthcheck ?? render.healthcheck(ctx);
  const healthcheck = test && healthcheckOf(test, HEALTHCHECK_INTERVAL.secondary);
  return Array.from({ length: spec.secondaries }, (_, k): SecondaryNode => {
    const name = secondaryName(ctx.name, k + 1);
    const { host, slot } = ctx.place.secondaries[k];
    const h = spec.hosts?.[host];
    const external = spec.ports.secondaryBase + slot;
    // Across hosts, clients on other hosts reach it at its host's address.
    const advertiseAddress = h ? `${h.address}:${external}` : `${name}:${clientPort}`;
    const place: SecondaryPlace = { name, advertiseAddress, endpoints, addresses };
    return {
      role: 'secondary',
      index: k + 1,
      ...(h ? { host: h.name } : {}),
      name,
      image: spec.secondary.image ?? spec.image,
      advertiseAddress,
      registers: spec.secondary.registers ?? render.registers(ctx),
      command: render.command(ctx, place),
      env: render.env(ctx, place),
      port: { internal: clientPort, external, ip: h ? h.address : ctx.bindAddress },
      hostClientUrl: `${scheme}://${h ? h.address : ctx.hostAddress}:${external}`,
      ...(ctx.secondaryKind.servesMetrics
        ? metricsOf(spec.metrics && spec.metrics.secondaryBase + slot, h ? h.address : ctx.bindAddress, h ? h.address : ctx.hostAddress)
        : {}),
      aliases: [name, ctx.discovery.secondaries],
      resources: { ...spec.secondary.resources },
      ...(healthcheck ? { healthcheck } : {}),
      stopGraceSeconds: STOP_GRACE_SECONDS,
      labels: labelsOf(ctx, 'secondary', healthcheck),
      uploads: render.uploads(ctx, place),
    };
  });
}
