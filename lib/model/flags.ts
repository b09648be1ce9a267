/**
 * The etcd flags this library sets itself, and why: `etcd.extraFlags` and `secondary.extraFlags` may add
 * any other flag, verbatim, but none of these (a second value would fight ours, or break the bootstrap).
 * A unit test checks that every flag the topology emits is listed here.
 */

/** Flags of the primaries (`etcd`), with what sets them. */
export const PRIMARY_FLAGS: Record<string, string> = {
  '--name': 'the member name is its container name',
  '--data-dir': 'the data directory is on the member volume',
  '--listen-peer-urls': 'peer URLs follow from the topology',
  '--listen-client-urls': 'client URLs follow from the topology',
  '--advertise-client-urls': 'client URLs follow from the topology',
  '--initial-advertise-peer-urls': 'peer URLs follow from the topology',
  '--initial-cluster': 'the cluster follows from primaries and initialPrimaries',
  '--initial-cluster-state': 'the bootstrap state follows from initialPrimaries and replace',
  '--initial-cluster-token': 'set token',
  '--cert-file': 'TLS comes from tls.dir',
  '--key-file': 'TLS comes from tls.dir',
  '--trusted-ca-file': 'TLS comes from tls.dir',
  '--client-cert-auth': 'TLS comes from tls.dir',
  '--peer-cert-file': 'TLS comes from tls.dir',
  '--peer-key-file': 'TLS comes from tls.dir',
  '--peer-trusted-ca-file': 'TLS comes from tls.dir',
  '--peer-client-cert-auth': 'TLS comes from tls.dir',
  '--listen-metrics-urls': 'set metrics',
  '--heartbeat-interval': 'set etcd.heartbeatIntervalMs',
  '--election-timeout': 'set etcd.electionTimeoutMs',
  '--auto-compaction-mode': 'set etcd.autoCompactionMode',
  '--auto-compaction-retention': 'set etcd.autoCompactionRetention',
  '--quota-backend-bytes': 'set etcd.quotaBackendBytes',
};

/**
 * Flags of a primary that its survivor's one-off `--force-new-cluster` run leaves out: it listens on
 * loopback only, is no longer bootstrapping, and runs without TLS (no network, so no one else can reach it).
 * `--auto-tls` and `--peer-auto-tls` are not ours, but an extra flag may add them.
 */
export const ONE_OFF_DROPPED: readonly string[] = [
  ...Object.keys(PRIMARY_FLAGS).filter((f) => /^--(listen-|initial-)/.test(f) || PRIMARY_FLAGS[f] === 'TLS comes from tls.dir'),
  '--auto-tls',
  '--peer-auto-tls',
];

/** Flags of the grpc-proxy secondaries, with what sets them. */
export const PROXY_FLAGS: Record<string, string> = {
  '--endpoints': 'the proxy talks to every primary',
  '--listen-addr': 'set secondary.clientPort',
  '--advertise-client-url': 'each proxy advertises its own address',
  '--resolver-prefix': 'proxies register under the cluster prefix',
  '--resolver-ttl': 'set secondary.registrationTtlSeconds',
  '--cacert': 'TLS comes from tls.dir',
  '--cert': 'TLS comes from tls.dir',
  '--key': 'TLS comes from tls.dir',
  '--cert-file': 'TLS comes from tls.dir',
  '--key-file': 'TLS comes from tls.dir',
  '--trusted-ca-file': 'TLS comes from tls.dir',
  '--metrics-addr': 'set metrics',
};

/** The flag's name: `--quota-backend-bytes=1` -> `--quota-backend-bytes`. */
export const flagName = (flag: string) => flag.split('=')[0];

/** `ETCD_QUOTA_BACKEND_BYTES` for `--quota-backend-bytes`: the variable etcd reads for a flag. */
export const envOfFlag = (flag: string) => `ETCD_${flagName(flag).replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;

/** The first problem with extra flags: not a `--flag`, or one the library sets (named with its field). */
export function extraFlagsProblem(flags: readonly string[], field: string, managed: Record<string, string>): string | undefined {
  for (const [k, flag] of flags.entries()) {
    if (!/^--[a-z0-9][a-z0-9-]*(=.*)?$/.test(flag)) return `${field}.${k}: must be a flag like --name or --name=value (got ${JSON.stringify(flag)})`;
    const why = managed[flagName(flag)];
    if (why) return `${field}.${k}: ${flagName(flag)} is set by cdktf-etcd-cluster (${why}); remove it (got ${JSON.stringify(flag)})`;
  }
  return undefined;
}
