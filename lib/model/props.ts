/**
 * What a user declares: the props of `EtcdCluster`, which are also the keys of a spec file, with what each
 * means and its default (`@default`; the values themselves live in `defaults.ts`), and the spec as it is
 * after validation, every default filled in (`ClusterSpec`). Interfaces only: the schema (`schema.ts`)
 * checks the props, and the compiler checks that the two never drift apart.
 */
import type { BackupStoreProps } from './props-store';

export type { BackupStoreProps };

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
   * Primaries to replace with a fresh member: primary number to replacement generation (1, then 2, ...).
   * Raising a primary's generation makes the next deploy remove its old member from etcd, give it a new
   * empty data volume (`<name>-primary-<i>-data-r<generation>`) and add it back as a learner with a new
   * member ID. Keep the entry afterwards: dropping it would replace the member again.
   * @default - none: every primary is its original member
   */
  readonly replace?: Record<string, number>;
  /**
   * Written by `etcd-cluster recover`, one entry per recovery from a lost quorum: the primary whose data
   * the cluster was rebuilt from, and the replacement generation with which each other primary rejoined it
   * (one at a time, in index order). A primary at that generation starts with an `--initial-cluster` of the
   * members it finds when it joins (the survivor and the primaries numbered below it), instead of every
   * primary. Keep the entries: dropping one changes those primaries' flags (a restart of their containers).
   * @default []
   */
  readonly recoveries?: readonly RecoveryProps[];
  /**
   * Stateless etcd clients (by default etcd grpc-proxies). Scaling them touches nothing else.
   * @default 0
   */
  readonly secondaries?: number;
  /**
   * Image of the primaries (and of the default secondaries): an etcd image with `/usr/local/bin/etcd`
   * and `/usr/local/bin/etcdctl`.
   * @default 'gcr.io/etcd-development/etcd:v3.6.16'
   */
  readonly image?: string;
  /**
   * The cluster's `--initial-cluster-token`.
   * @default `<name>-etcd-cluster`
   */
  readonly token?: string;
  /**
   * Published client ports.
   * @default - on 127.0.0.1: primary i on 2379i, secondary j on 24790 + j (with hosts: each host's address, from 2379)
   */
  readonly ports?: PortsProps;
  /** The cluster's Docker network, `<name>-net`. @default - a subnet chosen by Docker */
  readonly network?: NetworkProps;
  /** What every secondary runs. @default - an etcd grpc-proxy registering under the cluster's prefix */
  readonly secondary?: SecondaryProps;
  /** The post-apply verification hook. @default - the hook is added and waits up to 60 s */
  readonly verify?: VerifyProps;
  /**
   * etcd settings of the primaries: timing, compaction and quota, extra flags and environment.
   * @default - etcd's timing, periodic compaction keeping 1h, a 2 GiB quota, no extra flags
   */
  readonly etcd?: EtcdTuningProps;
  /** Memory and CPU limits of every primary. @default - no limits */
  readonly resources?: ResourcesProps;
  /** A Prometheus metrics endpoint per member, published like the client ports. @default - none */
  readonly metrics?: MetricsProps;
  /** Scheduled snapshots by a backup container of the cluster. @default - none */
  readonly backup?: BackupProps;
  /**
   * The scheduled defragmenter, in the backup container: it defragments members by etcd's rule and takes
   * etcd's way out of NOSPACE by itself. On wherever the backup container runs; `enabled: false` turns it off.
   * @default - on with `backup` (a look every 5m, 80 % of the quota, 200 MiB reclaimable); none without it
   */
  readonly defrag?: DefragProps;
  /**
   * Bootstraps a new cluster from a snapshot: every primary's data directory is restored from it (etcd's
   * `snapshot restore`) before the member starts. Refused (the deploy fails, nothing changed) when a
   * member's volume already holds data. @default - a new, empty cluster
   */
  readonly restore?: RestoreProps;
  /** Mutual TLS for peers and clients. @default - no TLS */
  readonly tls?: TlsProps;
  /** etcd RBAC: a root user, enabled by the post-apply hook. @default - no authentication */
  readonly auth?: AuthProps;
  /**
   * Docker hosts to spread the cluster over, each reached through the Docker provider's own `host`
   * (`unix://...`, `tcp://...`, `ssh://user@host`). Without hosts, everything runs on the one provider's host.
   * @default - one host: the stack's Docker provider
   */
  readonly hosts?: readonly HostProps[];
  /** Which host each member runs on. @default - primaries one per host in order; secondaries round-robin */
  readonly placement?: PlacementProps;
}

/** A Docker host of a cluster spread over several (`hosts`). */
export interface HostProps {
  /** Host name: a DNS label, unique in the cluster; also the provider alias. */
  readonly name: string;
  /** How the Docker provider reaches the host's daemon: `unix:///var/run/docker.sock`, `tcp://...`, `ssh://user@host`. */
  readonly docker: string;
  /** Extra ssh options for an `ssh://` host, as the provider's `ssh_opts`. @default [] */
  readonly sshOpts?: readonly string[];
  /** IPv4 address the other hosts (and the deploying machine) reach this host at; ports are published on it. */
  readonly address: string;
}

/** Which host each member runs on (`placement`), by host name. */
export interface PlacementProps {
  /** Host of each primary, in order (one entry per primary). @default - primary i on host i */
  readonly primaries?: readonly string[];
  /** Hosts the secondaries go to in turn: secondary j on entry (j-1) mod length. @default - every host */
  readonly secondaries?: readonly string[];
}

/** etcd RBAC (`auth`): the hook enables authentication with a root user. */
export interface AuthProps {
  /**
   * Environment variable holding the root password, read by the hook and the CLI at run time; the password
   * itself never appears in the spec or the synthesized config.
   * @default 'ETCD_ROOT_PASSWORD'
   */
  readonly passwordEnv?: string;
}

/** Mutual TLS (`tls`): peers, clients and the hooks present certificates of the cluster's CA. */
export interface TlsProps {
  /**
   * Directory made by `etcd-cluster pki`: `ca.crt`, `<node>.crt`/`<node>.key` per primary and secondary, and
   * `client.crt`/`client.key` for the verifier. Relative to the spec file (or, for props, the working directory).
   */
  readonly dir: string;
  /**
   * `etcd-cluster verify` (so the post-apply hook) and `members` warn when a certificate of the cluster (the CA,
   * a member's, the verifier's, the grpc-proxies') expires within this many days; an expired one fails
   * verification. `--warn-days` overrides it for one run; 0 warns of nothing before expiry.
   * @default 30
   */
  readonly expiryWarningDays?: number;
}

/** Host ports the members publish (`ports`). */
export interface PortsProps {
  /**
   * Host address the client ports are published on. Anything but loopback exposes the cluster.
   * @default '127.0.0.1'
   */
  readonly bindAddress?: string;
  /**
   * Host port of primary 1's client port; primary i gets `primaryBase + i - 1`.
   * @default 23791 (primary i on 2379i); with hosts 2379 (each host's first primary on etcd's own port)
   */
  readonly primaryBase?: number;
  /** Host port of secondary 1's client port; secondary j gets `secondaryBase + j - 1`. @default 24791 */
  readonly secondaryBase?: number;
  /**
   * With hosts: host port of the first primary's peer port on each host (peers on other hosts dial it).
   * Ports count per host: the k-th primary on a host gets `primaryBase + k - 1` and `peerBase + k - 1`.
   * @default 2380
   */
  readonly peerBase?: number;
}

/** The cluster's Docker network (`network`). */
export interface NetworkProps {
  /** IPv4 subnet of `<name>-net` in CIDR form, e.g. `172.28.0.0/24`. @default - chosen by Docker */
  readonly subnet?: string;
}

/** What every secondary runs (`secondary`): etcd's grpc-proxy, or with `command` an etcd client of the user's own. */
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
  readonly command?: readonly string[];
  /** Extra environment of every secondary (not `ETCD_*`: etcd refuses variables that shadow flags). @default - none */
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
  readonly healthcheck?: readonly string[];
  /**
   * Flags added to every grpc-proxy's command, after ours (a flag we set is refused). A custom command
   * carries its own flags instead. @default []
   */
  readonly extraFlags?: readonly string[];
  /** Memory and CPU limits of every secondary. @default - no limits */
  readonly resources?: ResourcesProps;
}

/** Limits of a member's container (`resources`, `secondary.resources`). */
export interface ResourcesProps {
  /** Memory limit in MiB (the container gets no swap beyond it); changed in place. @default - none */
  readonly memoryMiB?: number;
  /** CPUs the container may use, e.g. 0.5 or 2; a change replaces the container. @default - none */
  readonly cpus?: number;
}

/** Scheduled snapshots (`backup`). */
export interface BackupProps {
  /** Time between snapshots: a duration like `1h`, `30m` or `15s`. @default '1h' */
  readonly every?: string;
  /** How many snapshots to keep; older ones are removed. @default 24 */
  readonly keep?: number;
  /** Image of the backup container (`scripts/backup-image.sh` builds it). @default 'cdktf-etcd-cluster/etcd-backup:3' */
  readonly image?: string;
  /** An absolute directory on the Docker host for the snapshots, instead of the volume `<name>-backups`. @default - the volume */
  readonly hostPath?: string;
  /**
   * An S3-compatible object store off the host: every full snapshot goes there too, and between them the
   * watch stream's events every `deltaEvery`, so that a lost host costs seconds of writes.
   * @default - none: the snapshots stay on the Docker host
   */
  readonly store?: BackupStoreProps;
}

/**
 * The scheduled defragmenter (`defrag`), run by the backup container. At every look it defragments, one
 * member at a time (followers first, the leader last, only while every voter is healthy), each member
 * whose database exceeds `quotaPercent` of `etcd.quotaBackendBytes` or from which at least
 * `reclaimableMiB` can be reclaimed (database size minus size in use). When a member has raised NOSPACE
 * it compacts, defragments every member and disarms the alarm, once every database is back under
 * `quotaPercent` of the quota. Each run is in `etcd-cluster maintenance log` and the container's log.
 */
export interface DefragProps {
  /**
   * Whether the backup container defragments. A `defrag` section without `backup` is refused unless this
   * is false (the defragmenter runs in the backup container), and so is one with `auth`.
   * @default - true with `backup`
   */
  readonly enabled?: boolean;
  /** Time between two looks at the members: a duration like `5m` or `30s`. @default '5m' */
  readonly every?: string;
  /** Defragment a member whose database exceeds this percentage of the quota (1 to 100); NOSPACE is disarmed only under it. @default 80 */
  readonly quotaPercent?: number;
  /** Defragment a member from which at least this many MiB can be reclaimed (database size minus size in use). @default 200 */
  readonly reclaimableMiB?: number;
}

/** A new cluster bootstrapped from a snapshot (`restore`). */
export interface RestoreProps {
  /** The snapshot file (from `etcd-cluster snapshot save`, a backup, or `etcdctl snapshot save`), relative to the spec file. */
  readonly snapshot: string;
  /**
   * Raise the restored cluster's revision by this much (etcdutl's `--bump-revision`, with
   * `--mark-compacted`), so that clients that watched the old cluster past the snapshot never see revisions
   * go back; `etcd-cluster recover` writes 1000000000.
   * @default 0
   */
  readonly bumpRevision?: number;
}

/** One recovery from a lost quorum, as `etcd-cluster recover` records it (`recoveries`). */
export interface RecoveryProps {
  /** The primary whose data the cluster was rebuilt from. */
  readonly from: number;
  /** Primary number to the replacement generation with which it rejoined. */
  readonly rejoined: Record<string, number>;
}

/** Prometheus metrics endpoints (`metrics`), plain HTTP, published like the client ports. */
export interface MetricsProps {
  /** Host port of primary 1's metrics endpoint (`--listen-metrics-urls`); primary i gets `primaryBase + i - 1`. @default 23811 */
  readonly primaryBase?: number;
  /** Host port of secondary 1's metrics endpoint (the grpc-proxy's `--metrics-addr`). @default 25791 */
  readonly secondaryBase?: number;
}

/** The post-apply hook that checks the live cluster against the spec (`verify`). */
export interface VerifyProps {
  /** Whether to add the post-apply hook. @default true */
  readonly enabled?: boolean;
  /** How long the hook waits for the live cluster to match, in seconds. @default 60 */
  readonly timeoutSeconds?: number;
  /** How the hooks run the CLI. @default `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))'` */
  readonly command?: string;
}

/** etcd settings of the primaries (`etcd`). */
export interface EtcdTuningProps {
  /** `--heartbeat-interval` in milliseconds. @default - etcd's 100 */
  readonly heartbeatIntervalMs?: number;
  /** `--election-timeout` in milliseconds. @default - etcd's 1000 */
  readonly electionTimeoutMs?: number;
  /**
   * `--auto-compaction-mode`: `periodic` keeps the history of the last `autoCompactionRetention` (a
   * duration), `revision` keeps that many revisions, `off` compacts never (etcd's own default, under which
   * the database grows until the quota stops writes).
   * @default 'periodic'
   */
  readonly autoCompactionMode?: 'periodic' | 'revision' | 'off';
  /** `--auto-compaction-retention`: a duration (`1h`, `30m`) for periodic, a number of revisions for revision. @default '1h' */
  readonly autoCompactionRetention?: string;
  /** `--quota-backend-bytes`: when the backend reaches it, etcd raises NOSPACE and refuses writes. @default 2147483648 (2 GiB) */
  readonly quotaBackendBytes?: number;
  /** Flags added to every primary's command, after ours; a flag we set ourselves is refused. @default [] */
  readonly extraFlags?: readonly string[];
  /** Environment of every primary; an `ETCD_*` variable for a flag that is set (ours or extraFlags) is refused. @default - none */
  readonly env?: Record<string, string>;
}

/**
 * A spec that passed validation (`validateSpec`, `loadSpecFile`), every default filled in. `EtcdCluster`
 * takes it as props without checking it again, unless it was changed since (then it is checked as any props).
 */
export interface ClusterSpec {
  /** The cluster name (`EtcdClusterProps.name`). */
  readonly name: string;
  /** Voting members: 1, 3, 5, 7 or 9. */
  readonly primaries: number;
  /** How many primaries the cluster was first deployed with; unset: `primaries`. */
  readonly initialPrimaries?: number;
  /** Replaced primaries: primary number to replacement generation; empty when none. */
  readonly replace: Readonly<Record<string, number>>;
  /** Recoveries from a lost quorum (`etcd-cluster recover`); empty when none. */
  readonly recoveries: readonly RecoveryProps[];
  /** Stateless members. */
  readonly secondaries: number;
  /** Image of the primaries (and of default secondaries). */
  readonly image: string;
  /** `--initial-cluster-token`; unset: `<name>-etcd-cluster`. */
  readonly token?: string;
  /** Published ports; unset bases follow from the placement (`EtcdClusterProps.ports`). */
  readonly ports: PortsProps & { readonly secondaryBase: number };
  /** The cluster's Docker network. */
  readonly network: NetworkProps;
  /** What every secondary runs, its defaults filled in. */
  readonly secondary: SecondaryProps & {
    readonly env: Readonly<Record<string, string>>;
    readonly clientPort: number;
    readonly registrationTtlSeconds: number;
    readonly extraFlags: readonly string[];
  };
  /** Limits of every primary. */
  readonly resources?: ResourcesProps;
  /** Scheduled snapshots, with `backup` in the spec. */
  readonly backup?: Omit<BackupProps, 'store'> & {
    readonly every: string;
    readonly keep: number;
    readonly image: string;
    readonly store?: BackupStoreProps & { readonly region: string; readonly pathStyle: boolean; readonly deltaEvery: string; readonly maxBehind: string };
  };
  /** The scheduled defragmenter's settings, with `defrag` in the spec (without it: the defaults, on with `backup`). */
  readonly defrag?: DefragProps & { readonly every: string; readonly quotaPercent: number; readonly reclaimableMiB: number };
  /** The snapshot a new cluster starts from; its path is absolute after `loadSpecFile`. */
  readonly restore?: RestoreProps;
  /** Metrics ports, with `metrics` in the spec. */
  readonly metrics?: Required<MetricsProps>;
  /** The post-apply hook. */
  readonly verify: Required<VerifyProps>;
  /** etcd settings of the primaries, their defaults filled in. */
  readonly etcd: EtcdTuningProps & {
    readonly autoCompactionMode: 'periodic' | 'revision' | 'off';
    readonly quotaBackendBytes: number;
    readonly extraFlags: readonly string[];
    readonly env: Readonly<Record<string, string>>;
  };
  /** Mutual TLS; the directory is absolute after `loadSpecFile`. */
  readonly tls?: TlsProps & { readonly expiryWarningDays: number };
  /** etcd RBAC. */
  readonly auth?: Required<AuthProps>;
  /** Docker hosts, with `hosts` in the spec. */
  readonly hosts?: readonly (HostProps & { readonly sshOpts: readonly string[] })[];
  /** Which host each member runs on. */
  readonly placement?: PlacementProps;
}
