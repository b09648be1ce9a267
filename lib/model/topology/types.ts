/** The topology's data: members and everything about them, as plain values (no cdktf here). */

/** Client, peer and metrics ports inside every etcd container. */
export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;
export const METRICS_PORT = 2381;
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
  /** Its metrics port, published like the client port, with `metrics` in the spec. */
  readonly metricsPort?: PublishedPort;
  /** Where the host reaches its metrics (`.../metrics`), with `metrics` in the spec. */
  readonly hostMetricsUrl?: string;
  /** Names it answers to on the cluster network: its own, and its role's shared discovery name. */
  readonly aliases: string[];
  /** Memory (MiB) and CPU limits. */
  readonly resources: { readonly memoryMiB?: number; readonly cpus?: number };
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
  /**
   * Labels of the data volume: cluster and role only. Volume labels force a new volume, so nothing that may
   * change while the member lives (its healthcheck digest) belongs here.
   */
  readonly volumeLabels: Record<string, string>;
  /** The peer port, published only when the cluster spans hosts (peers on other hosts dial it). */
  readonly peerPort?: PublishedPort;
  /** With `restore` in the spec: the step that restores its data directory from the snapshot. */
  readonly restore?: RestoreStep;
  /**
   * The founder whose container must be running before this one starts, on a new cluster's first deploy
   * (the founder before it). etcd, booting a member without data, asks each peer whether it knows the
   * member already and waits up to 1 s for each answer; a peer booting at the same moment has bound its
   * peer port but serves it only once its own boot is done, so founders started together wait out those
   * seconds on one another (measured: 2 s for 3, longer for 5). Started one after another, each finds the
   * earlier founders serving and the later ones absent, and answers at once. Undefined for primary 1, a
   * joiner, and a restored cluster (its members boot with data and ask nothing).
   */
  readonly startsAfter?: string;
}

/** A one-shot container that prepares a primary's data directory from a snapshot before the member starts. */
export interface RestoreStep {
  readonly name: string;
  readonly command: string[];
  /** The snapshot, delivered into the container. */
  readonly upload: Upload;
}

export interface SecondaryNode extends NodeBase {
  readonly role: 'secondary';
  /** Address the secondary advertises, and the key suffix of its registration (`<prefix>/<address>`). */
  readonly advertiseAddress: string;
  readonly registers: boolean;
}

export type MemberNode = PrimaryNode | SecondaryNode;

/** etcd's defragmentation rule with the cluster's numbers. */
export interface SpaceRule {
  /** `--quota-backend-bytes` of the primaries. */
  readonly quotaBytes: number;
  /** A member whose database exceeds this percentage of the quota is defragmented; NOSPACE is disarmed only under it. */
  readonly quotaPercent: number;
  /** A member from which at least this many bytes can be reclaimed is defragmented. */
  readonly reclaimableBytes: number;
}

/** The container that takes snapshots on a schedule (tools/etcd-backup), and where they go. */
export interface BackupNode {
  readonly name: string;
  readonly image: string;
  readonly command: string[];
  /** Where the snapshots live: a volume of the cluster, or a directory on the Docker host. */
  readonly volume?: string;
  readonly hostPath?: string;
  /** The Docker host it runs on (with hosts: the first primary's). */
  readonly host?: string;
  readonly aliases: string[];
  readonly labels: Record<string, string>;
  readonly volumeLabels: Record<string, string>;
  readonly uploads: Upload[];
  readonly stopGraceSeconds: number;
  /** Files of the Docker host mounted read-only (the store's credentials and CA). */
  readonly binds: HostBind[];
  /** With `backup.store`: the store's flags of `etcd-backup`, as the container and a one-off take them. */
  readonly store?: { readonly args: string[]; readonly maxBehind: string };
}

/** A file of the Docker host mounted read-only into a container. */
export interface HostBind {
  readonly hostPath: string;
  readonly containerPath: string;
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
  /**
   * Shared names on the cluster network: every primary also answers to `primaries`, every secondary to
   * `secondaries`, so that one DNS lookup lists them all (Docker's embedded DNS returns every address).
   */
  readonly discovery: { readonly primaries: string; readonly secondaries: string };
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
  /** The snapshot the cluster is restored from: the revision it must serve at least. */
  readonly restore?: { readonly snapshot: string; readonly revision: number };
  /** The backup container, with `backup` in the spec. */
  readonly backup?: BackupNode;
  /**
   * Room in the backend: the quota and etcd's defragmentation rule (what `defrag --if-needed`, `reclaim` and
   * the scheduled defragmenter decide by), and how often the backup container looks (null: it does not).
   */
  readonly space: SpaceRule & { readonly defragEvery: string | null };
  /** TLS material on the deploying machine, when the cluster uses TLS. */
  readonly tls?: {
    readonly dir: string;
    /** Every node needing a certificate, with the IPs it must cover besides 127.0.0.1. */
    readonly nodes: { name: string; ips: string[] }[];
    readonly ca: string;
    readonly clientCert: string;
    readonly clientKey: string;
    /** Days before expiry from which `verify` warns about a certificate. */
    readonly expiryWarningDays: number;
  };
}
