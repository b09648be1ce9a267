/**
 * The voting members: names, URLs, ports and every etcd flag. Founders (1..initialPrimaries) bootstrap
 * together with `--initial-cluster-state new`; joiners (above initialPrimaries, or replaced) start with
 * `existing` and an `--initial-cluster` that matches the members they will find.
 */
import { peerBaseOf, primaryBaseOf } from '../placement';
import { IN_CONTAINER } from '../pki';
import { DEFAULTS } from '../defaults';
import { restoreOf, restoreStepOf } from './backup';
import { etcdctlHealth, HEALTHCHECK_INTERVAL, healthcheckOf, labelsOf, metricsOf, nodeUploads, primaryName, type ClusterContext } from './context';
import { CLIENT_PORT, DATA_DIR, ETCD_BIN, METRICS_PORT, PEER_PORT, STOP_GRACE_SECONDS, type PrimaryNode, type PublishedPort } from './types';

/** Where a primary is reached: by its peers, by clients inside the cluster's network, and from the host. */
interface Reach {
  readonly host?: string;
  readonly peerUrl: string;
  readonly clientUrl: string;
  readonly hostClientUrl: string;
  readonly port: PublishedPort;
  readonly peerPort?: PublishedPort;
}

/**
 * On one host: by container name inside the cluster's network, and through its published client port from
 * the host. Across hosts: at its host's address, peers included.
 */
function reachOf(ctx: ClusterContext, names: string[]): Reach[] {
  const { spec, scheme } = ctx;
  return ctx.place.primaries.map(({ host, slot }, k) => {
    const clientExt = primaryBaseOf(spec) + slot;
    const h = spec.hosts?.[host];
    if (!h) {
      const n = names[k];
      return {
        peerUrl: `${scheme}://${n}:${PEER_PORT}`,
        clientUrl: `${scheme}://${n}:${CLIENT_PORT}`,
        hostClientUrl: `${scheme}://${ctx.hostAddress}:${clientExt}`,
        port: { internal: CLIENT_PORT, external: clientExt, ip: ctx.bindAddress },
      };
    }
    const url = `${scheme}://${h.address}:${clientExt}`;
    const peerExt = peerBaseOf(spec) + slot;
    return {
      host: h.name,
      peerUrl: `${scheme}://${h.address}:${peerExt}`,
      clientUrl: url,
      hostClientUrl: url,
      port: { internal: CLIENT_PORT, external: clientExt, ip: h.address },
      peerPort: { internal: PEER_PORT, external: peerExt, ip: h.address },
    };
  });
}

/** etcd's server-side TLS flags: clients and peers both present certificates of the cluster's CA. */
function serverTlsFlags(ctx: ClusterContext): string[] {
  const { ca, cert, key } = IN_CONTAINER;
  return ctx.tlsDir
    ? [
        `--cert-file=${cert}`,
        `--key-file=${key}`,
        `--trusted-ca-file=${ca}`,
        '--client-cert-auth',
        `--peer-cert-file=${cert}`,
        `--peer-key-file=${key}`,
        `--peer-trusted-ca-file=${ca}`,
        '--peer-client-cert-auth',
      ]
    : [];
}

export interface Primaries {
  readonly primaries: PrimaryNode[];
  /** The founders' `--initial-cluster`. */
  readonly initialCluster: string;
  /** The snapshot the primaries are restored from. */
  readonly restore?: { readonly snapshot: string; readonly revision: number };
}

export function primariesOf(ctx: ClusterContext): Primaries {
  const { spec, scheme, name, token } = ctx;
  const names = Array.from({ length: spec.primaries }, (_, k) => primaryName(name, k + 1));
  const reach = reachOf(ctx, names);
  // The same host strings as --initial-advertise-peer-urls: etcd compares them as strings before any DNS lookup.
  const initialCount = spec.initialPrimaries ?? spec.primaries;
  const clusterOf = (upTo: number) =>
    names
      .slice(0, upTo)
      .map((n, k) => `${n}=${reach[k].peerUrl}`)
      .join(',');
  // After a shrink below initialPrimaries the founders' list still names every founder, so that the
  // remaining founders' flags stay byte-identical (on one host an absent founder's URL follows its name).
  const initialCluster = Array.from({ length: initialCount }, (_, k) => {
    const n = primaryName(name, k + 1);
    return `${n}=${k < reach.length ? reach[k].peerUrl : `${scheme}://${n}:${PEER_PORT}`}`;
  }).join(',');
  const tuning: string[] = [];
  if (spec.etcd.heartbeatIntervalMs !== undefined) tuning.push(`--heartbeat-interval=${spec.etcd.heartbeatIntervalMs}`);
  if (spec.etcd.electionTimeoutMs !== undefined) tuning.push(`--election-timeout=${spec.etcd.electionTimeoutMs}`);
  const { autoCompactionMode: mode } = spec.etcd;
  if (mode !== 'off') {
    tuning.push(`--auto-compaction-mode=${mode}`, `--auto-compaction-retention=${spec.etcd.autoCompactionRetention ?? DEFAULTS.autoCompactionRetention[mode]}`);
  }
  tuning.push(`--quota-backend-bytes=${spec.etcd.quotaBackendBytes}`);
  // Metrics on a listener of their own, in plain HTTP: Prometheus scrapes it without a client certificate.
  if (spec.metrics) tuning.push(`--listen-metrics-urls=http://0.0.0.0:${METRICS_PORT}`);
  const healthcheck = healthcheckOf(etcdctlHealth(ctx, CLIENT_PORT), HEALTHCHECK_INTERVAL.primary);
  const restore = restoreOf(ctx);
  const slotOf = (k: number) => ctx.place.primaries[k].slot;
  /** `<name>=<peer url>` of these primary numbers, in order; an undeclared one as on one host (etcd reads it only once, at the first start). */
  const clusterOfNumbers = (numbers: number[]) =>
    [...new Set(numbers)]
      .sort((a, b) => a - b)
      .map((i) => {
        const n = primaryName(name, i);
        return `${n}=${i <= reach.length ? reach[i - 1].peerUrl : `${scheme}://${n}:${PEER_PORT}`}`;
      })
      .join(',');
  /** The recovery in which primary i rejoined at this generation, if it did (the newest record wins). */
  const rejoinedIn = (i: number, generation: number) => [...spec.recoveries].reverse().find((r) => r.rejoined[String(i)] === generation);

  const primaries = names.map((n, k): PrimaryNode => {
    const { port, peerPort, peerUrl, clientUrl, hostClientUrl, host } = reach[k];
    const generation = spec.replace[String(k + 1)] ?? 0;
    const joins = k + 1 > initialCount || generation > 0;
    // etcd admits a joiner only when --initial-cluster lists exactly the members it finds: primaries 1..i
    // while growing, every primary when one is replaced, and after a recovery (which rebuilt the cluster
    // from one survivor, the others rejoining in order) the survivor and the primaries numbered below it.
    const recovery = generation > 0 ? rejoinedIn(k + 1, generation) : undefined;
    const joinCluster = recovery
      ? clusterOfNumbers([recovery.from, ...Array.from({ length: k + 1 }, (_, j) => j + 1)])
      : generation > 0
        ? clusterOf(names.length)
        : clusterOf(k + 1);
    return {
      role: 'primary',
      index: k + 1,
      joins,
      generation,
      name: n,
      image: spec.image,
      ...(host ? { host } : {}),
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
        ...serverTlsFlags(ctx),
        ...tuning,
        ...spec.etcd.extraFlags,
      ],
      env: { ...spec.etcd.env },
      port,
      ...metricsOf(spec.metrics && spec.metrics.primaryBase + slotOf(k), port.ip, new URL(hostClientUrl).hostname),
      aliases: [n, ctx.discovery.primaries],
      resources: { ...spec.resources },
      ...(peerPort ? { peerPort } : {}),
      // A replaced primary joins the restored cluster through the membership path instead.
      ...(restore && generation === 0 ? { restore: restoreStepOf(ctx, { name: n, peerUrl }, initialCluster, restore) } : {}),
      ...(!joins && !restore && k > 0 ? { startsAfter: names[k - 1] } : {}),
      hostClientUrl,
      healthcheck,
      stopGraceSeconds: STOP_GRACE_SECONDS,
      labels: labelsOf(ctx, 'primary', healthcheck),
      volumeLabels: labelsOf(ctx, 'primary'),
      uploads: nodeUploads(ctx, n),
    };
  });
  return {
    primaries,
    initialCluster,
    ...(restore ? { restore: { snapshot: restore.snapshot, revision: restore.revision + restore.bumpRevision } } : {}),
  };
}
