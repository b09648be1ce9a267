/**
 * Every default of the spec, in one place, each next to what it means. The schema (spec.ts) fills them in;
 * the props' `@default` tags repeat them for people reading the API.
 */
export const DEFAULTS = {
  /** Voting members: three tolerate one failure. */
  primaries: 3,
  /** Stateless etcd clients. */
  secondaries: 0,
  /** The official image of the newest etcd 3.6 release (3.6.16). */
  image: 'gcr.io/etcd-development/etcd:v3.6.16',
  /** `--initial-cluster-token`: one deterministic token per cluster (a node with another never joins). */
  token: (name: string) => `${name}-etcd-cluster`,
  /** Host address client ports are published on: loopback, so nothing is exposed by default. */
  bindAddress: '127.0.0.1',
  /**
   * Host port of primary 1's client port on one host: primary i on `2379<i>` (23791 to 23799), so that no
   * client port lands on 2380, which etcd users read as the peer port.
   */
  primaryBase: 23791,
  /** With hosts: host port of each host's first primary, etcd's own client port (peers get `peerBase`). */
  primaryBaseOnHosts: 2379,
  /** Host port of secondary 1's client port: secondary j on 24790 + j. */
  secondaryBase: 24791,
  /** With hosts: host port of each host's first primary's peer port (etcd's own peer port). */
  peerBase: 2380,
  /** Port a secondary serves clients on inside its container. */
  secondaryClientPort: 2379,
  /** TTL of a grpc-proxy's registration lease, in seconds. */
  registrationTtlSeconds: 10,
  /** Whether the post-apply hook is added. */
  verifyEnabled: true,
  /** How long the hook (and `etcd-cluster verify`) waits for the live cluster to match, in seconds. */
  verifyTimeoutSeconds: 60,
  /**
   * How the hooks run the CLI: the bundled CLI of the package installed in the project that deploys (or of
   * this repository), found by Node from the stack directory. `npx --no-install etcd-cluster` finds the
   * same file but spends about 1.4 s more starting npm, on every hook of every deploy.
   */
  verifyCommand: `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))'`,
  /**
   * Auto-compaction: etcd keeps every revision forever unless told otherwise, and a long-running cluster
   * then fills its quota and refuses writes (NOSPACE). etcd's maintenance guide compacts periodically;
   * one hour of history lets a watcher that reconnects within the hour resume where it was.
   */
  autoCompactionMode: 'periodic',
  autoCompactionRetention: { periodic: '1h', revision: '10000' },
  /** `--quota-backend-bytes`: etcd's own default (2 GiB), made explicit so that it shows and can be read. */
  quotaBackendBytes: 2 * 1024 ** 3,
  /** Metrics ports: primary i on `2381<i>` (2381 is the usual metrics port), secondary j on 25790 + j. */
  metricsPrimaryBase: 23811,
  metricsSecondaryBase: 25791,
  /** Scheduled backups: a snapshot an hour, the last day's kept, by the image scripts/backup-image.sh builds. */
  backupEvery: '1h',
  backupKeep: 24,
  backupImage: 'cdktf-etcd-cluster/etcd-backup:3',
  /** The object store (`backup.store`): deltas every second, a warning when it trails by more than 30 s. */
  storeRegion: 'us-east-1',
  storeDeltaEvery: '1s',
  storeMaxBehind: '30s',
  /**
   * The scheduled defragmenter (in the backup container): a look every 5 minutes, and etcd's rule:
   * defragment a member whose database exceeds 80 % of the quota, or from which 200 MiB can be reclaimed.
   */
  defragEvery: '5m',
  defragQuotaPercent: 80,
  defragReclaimableMiB: 200,
  /** Days before a certificate expires from which `verify` and `members` warn (certificates last 825 days). */
  expiryWarningDays: 30,
  /** Environment variable holding the root password of a cluster with auth. */
  passwordEnv: 'ETCD_ROOT_PASSWORD',
} as const;
