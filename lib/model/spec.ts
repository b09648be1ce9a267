/**
 * The cluster spec: what a user declares, from a YAML/JSON file or as construct props, and its schema.
 *
 * Every default lives in `DEFAULTS`, next to what it means; the props below say the same in their
 * `@default` tags for people reading the API. `validateSpec` turns every problem into a `SpecError` whose
 * message is one line naming the field and the value received; the topology takes a `ClusterSpec` from here.
 */
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { describeValue, formatIssue, SpecError } from './messages';
import { DEFAULTS } from './defaults';
import { envOfFlag, extraFlagsProblem, flagName, PRIMARY_FLAGS, PROXY_FLAGS } from './flags';
import { hostsProblem, portsProblem } from './placement';

export { SpecError } from './messages';
export { DEFAULTS } from './defaults';

/** Voting member counts we accept: odd, at most 9. */
export const VALID_PRIMARY_COUNTS = [1, 3, 5, 7, 9] as const;
/** Longest cluster name: `<name>-secondary-<j>` must stay a DNS label (63 characters). */
export const MAX_NAME_LENGTH = 40;

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
   * Primaries to replace with a fresh member: primary number -> replacement generation (1, then 2, ...).
   * Raising a primary's generation makes the next deploy remove its old member from etcd, give it a new
   * empty data volume (`<name>-primary-<i>-data-r<generation>`) and add it back as a learner with a new
   * member ID. Keep the entry afterwards: dropping it would replace the member again.
   * @default {}
   */
  readonly replace?: Record<string, number>;
  /**
   * Stateless etcd clients (by default etcd grpc-proxies). Scaling them touches nothing else.
   * @default 0
   */
  readonly secondaries?: number;
  /**
   * Image of the primaries (and of the default secondaries): an etcd image with `/usr/local/bin/etcd`
   * and `/usr/local/bin/etcdctl`.
   * @default 'gcr.io/etcd-development/etcd:v3.5.21'
   */
  readonly image?: string;
  /**
   * The cluster's `--initial-cluster-token`.
   * @default `<name>-etcd-cluster`
   */
  readonly token?: string;
  /** Published client ports. */
  readonly ports?: PortsProps;
  /** The cluster's Docker network. */
  readonly network?: NetworkProps;
  /** What every secondary runs. @default - an etcd grpc-proxy registering under the cluster's prefix */
  readonly secondary?: SecondaryProps;
  /** The post-apply verification hook. */
  readonly verify?: VerifyProps;
  /** etcd settings of the primaries: timing, compaction and quota, extra flags and environment. */
  readonly etcd?: EtcdTuningProps;
  /** Memory and CPU limits of every primary. @default - no limits */
  readonly resources?: ResourcesProps;
  /** A Prometheus metrics endpoint per member, published like the client ports. @default - none */
  readonly metrics?: MetricsProps;
  /** Scheduled snapshots by a backup container of the cluster. @default - none */
  readonly backup?: BackupProps;
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
  readonly hosts?: HostProps[];
  /** Which host each member runs on. @default - primaries one per host in order; secondaries round-robin */
  readonly placement?: PlacementProps;
}

export interface HostProps {
  /** Host name: a DNS label, unique in the cluster; also the provider alias. */
  readonly name: string;
  /** How the Docker provider reaches the host's daemon: `unix:///var/run/docker.sock`, `tcp://...`, `ssh://user@host`. */
  readonly docker: string;
  /** Extra ssh options for an `ssh://` host, as the provider's `ssh_opts`. @default [] */
  readonly sshOpts?: string[];
  /** IPv4 address the other hosts (and the deploying machine) reach this host at; ports are published on it. */
  readonly address: string;
}

export interface PlacementProps {
  /** Host of each primary, in order (one entry per primary). @default - primary i on host i */
  readonly primaries?: string[];
  /** Hosts the secondaries go to in turn: secondary j on entry (j-1) mod length. @default - every host */
  readonly secondaries?: string[];
}

export interface AuthProps {
  /**
   * Environment variable holding the root password, read by the hook and the CLI at run time; the password
   * itself never appears in the spec or the synthesized config.
   * @default 'ETCD_ROOT_PASSWORD'
   */
  readonly passwordEnv?: string;
}

export interface TlsProps {
  /**
   * Directory made by `etcd-cluster pki`: `ca.crt`, `<node>.crt`/`<node>.key` per primary and secondary, and
   * `client.crt`/`client.key` for the verifier. Relative to the spec file (or, for props, the working directory).
   */
  readonly dir: string;
}

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

export interface NetworkProps {
  /** IPv4 subnet of `<name>-net` in CIDR form, e.g. `172.28.0.0/24`. @default - chosen by Docker */
  readonly subnet?: string;
}

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
  readonly command?: string[];
  /** Extra environment of every secondary (not `ETCD_*`: etcd refuses variables that shadow flags). @default {} */
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
  readonly healthcheck?: string[];
  /**
   * Flags added to every grpc-proxy's command, after ours (a flag we set is refused). A custom command
   * carries its own flags instead. @default []
   */
  readonly extraFlags?: string[];
  /** Memory and CPU limits of every secondary. @default - no limits */
  readonly resources?: ResourcesProps;
}

export interface ResourcesProps {
  /** Memory limit in MiB (the container gets no swap beyond it); changed in place. @default - none */
  readonly memoryMiB?: number;
  /** CPUs the container may use, e.g. 0.5 or 2; a change replaces the container. @default - none */
  readonly cpus?: number;
}

export interface BackupProps {
  /** Time between snapshots: a duration like `1h`, `30m` or `15s`. @default '1h' */
  readonly every?: string;
  /** How many snapshots to keep; older ones are removed. @default 24 */
  readonly keep?: number;
  /** Image of the backup container (`scripts/backup-image.sh` builds it). @default 'cdktf-etcd-cluster/etcd-backup:1' */
  readonly image?: string;
  /** An absolute directory on the Docker host for the snapshots, instead of the volume `<name>-backups`. @default - the volume */
  readonly hostPath?: string;
}

export interface RestoreProps {
  /** The snapshot file (from `etcd-cluster snapshot save`, a backup, or `etcdctl snapshot save`), relative to the spec file. */
  readonly snapshot: string;
}

export interface MetricsProps {
  /** Host port of primary 1's metrics endpoint (`--listen-metrics-urls`); primary i gets `primaryBase + i - 1`. @default 23811 */
  readonly primaryBase?: number;
  /** Host port of secondary 1's metrics endpoint (the grpc-proxy's `--metrics-addr`). @default 25791 */
  readonly secondaryBase?: number;
}

export interface VerifyProps {
  /** Whether to add the post-apply hook. @default true */
  readonly enabled?: boolean;
  /** How long the hook waits for the live cluster to match, in seconds. @default 60 */
  readonly timeoutSeconds?: number;
  /** How the hooks run the CLI. @default `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))'` */
  readonly command?: string;
}

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
  readonly extraFlags?: string[];
  /** Environment of every primary; an `ETCD_*` variable for a flag that is set (ours or extraFlags) is refused. @default {} */
  readonly env?: Record<string, string>;
}

/** Cluster, host and other names: DNS labels. */
const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const CIDR_PATTERN = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;

const port = () => z.int({ error: 'must be a whole port number' }).min(1, { error: 'must be 1 to 65535' }).max(65535, { error: 'must be 1 to 65535' });

/** A voting member count: odd, 1 to 9, with the reason when it is not. */
function voterCount() {
  return z.int({ error: 'must be a whole number: 1, 3, 5, 7 or 9' }).check((ctx) => {
    const n = ctx.value;
    if ((VALID_PRIMARY_COUNTS as readonly number[]).includes(n)) return;
    let why: string;
    if (n < 1) why = 'a cluster needs at least one voting member';
    else if (n > 9) why = 'more than 9 voters only slow every write, since each waits for a majority';
    else why = `an even count can split the vote into equal halves and tolerates no more failures than ${n - 1}`;
    ctx.issues.push({ code: 'custom', input: n, message: `${why}; use 1, 3, 5, 7 or 9` });
  });
}

function isCidr(value: string): boolean {
  const m = CIDR_PATTERN.exec(value);
  if (!m || !isIPv4(m[1])) return false;
  const bits = Number(m[2]);
  if (bits < 8 || bits > 29) return false;
  // The address must be the network address itself (no host bits set).
  const addr = m[1].split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return addr % 2 ** (32 - bits) === 0;
}

const envName = () => z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' });

const resources = () =>
  z.strictObject({
    // Docker refuses less than 6 MiB.
    memoryMiB: z
      .int({ error: 'must be a whole number of MiB' })
      .min(6, { error: 'must be at least 6' })
      .max(1024 * 1024, { error: 'must be at most 1048576' })
      .optional(),
    cpus: z
      .number({ error: 'must be a number of CPUs, e.g. 0.5 or 2' })
      .positive({ error: 'must be more than 0' })
      .max(1024, { error: 'must be at most 1024' })
      .refine((n) => Math.round(n * 100) === n * 100, { error: 'must have at most two decimals' })
      .optional(),
  });

/** A Go duration (`1h`, `30m`, `1h30m`) or a whole number, as etcd's periodic retention takes it. */
const PERIODIC_RETENTION = /^(\d+|(\d+(\.\d+)?(ns|us|ms|s|m|h))+)$/;

export const specSchema = z.strictObject({
  name: z
    .string()
    .max(MAX_NAME_LENGTH, { error: `is longer than ${MAX_NAME_LENGTH} characters` })
    .regex(NAME_PATTERN, { error: 'must be a DNS label: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen' }),
  primaries: voterCount().default(DEFAULTS.primaries),
  initialPrimaries: voterCount().optional(),
  replace: z
    .record(
      z.string().regex(/^[1-9]$/, { error: 'keys must be primary numbers 1 to 9' }),
      z
        .int({ error: 'must be a whole generation number, 1 or more' })
        .min(1, { error: 'must be a whole generation number, 1 or more' })
        .max(999, { error: 'must be at most 999' }),
    )
    .default({}),
  secondaries: z.int({ error: 'must be a whole number, 0 or more' }).min(0, { error: 'must be 0 or more' }).default(DEFAULTS.secondaries),
  image: z.string().min(1, { error: 'must not be empty' }).default(DEFAULTS.image),
  token: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, { error: 'must be 1 to 128 letters, digits, dots, underscores or hyphens' })
    .optional(),
  ports: z
    .strictObject({
      bindAddress: z
        .string()
        .refine((a) => isIPv4(a), { error: 'must be an IPv4 address' })
        .optional(),
      primaryBase: port().optional(),
      secondaryBase: port().default(DEFAULTS.secondaryBase),
      peerBase: port().optional(),
    })
    .prefault({}),
  network: z
    .strictObject({
      subnet: z.string().refine(isCidr, { error: 'must be an IPv4 subnet in CIDR form with a prefix of /8 to /29, e.g. 172.28.0.0/24' }).optional(),
    })
    .prefault({}),
  secondary: z
    .strictObject({
      image: z.string().min(1, { error: 'must not be empty' }).optional(),
      command: z.array(z.string()).min(1, { error: 'must list at least the program' }).optional(),
      env: z
        .record(envName(), z.string())
        .check((ctx) => {
          for (const key of Object.keys(ctx.value)) {
            if (key.startsWith('ETCD_')) {
              ctx.issues.push({ code: 'custom', input: key, path: [key], message: 'ETCD_* variables conflict with etcd flags; pass flags in command instead' });
            }
          }
        })
        .default({}),
      clientPort: port().default(DEFAULTS.secondaryClientPort),
      registrationTtlSeconds: z
        .int({ error: 'must be a whole number of seconds' })
        .min(1, { error: 'must be at least 1' })
        .max(3600, { error: 'must be at most 3600' })
        .default(DEFAULTS.registrationTtlSeconds),
      registers: z.boolean().optional(),
      healthcheck: z.array(z.string()).min(2, { error: 'must be exec form, e.g. ["CMD", "/bin/check"]' }).optional(),
      extraFlags: z.array(z.string()).default([]),
      resources: resources().optional(),
    })
    .prefault({}),
  resources: resources().optional(),
  backup: z
    .strictObject({
      every: z
        .string()
        .regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, { error: 'must be a duration like 1h, 30m or 15s' })
        .default(DEFAULTS.backupEvery),
      keep: z
        .int({ error: 'must be a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(10000, { error: 'must be at most 10000' })
        .default(DEFAULTS.backupKeep),
      image: z.string().min(1, { error: 'must not be empty' }).default(DEFAULTS.backupImage),
      hostPath: z
        .string()
        .regex(/^\/\S*$/, { error: 'must be an absolute directory on the Docker host' })
        .optional(),
    })
    .optional(),
  restore: z.strictObject({ snapshot: z.string({ error: 'must be the path of a snapshot file' }).min(1, { error: 'must not be empty' }) }).optional(),
  metrics: z
    .strictObject({
      primaryBase: port().default(DEFAULTS.metricsPrimaryBase),
      secondaryBase: port().default(DEFAULTS.metricsSecondaryBase),
    })
    .optional(),
  verify: z
    .strictObject({
      enabled: z.boolean().default(DEFAULTS.verifyEnabled),
      timeoutSeconds: z
        .number({ error: 'must be a number of seconds' })
        .positive({ error: 'must be more than 0' })
        .max(3600, { error: 'must be at most 3600' })
        .default(DEFAULTS.verifyTimeoutSeconds),
      command: z.string().min(1, { error: 'must not be empty' }).default(DEFAULTS.verifyCommand),
    })
    .prefault({}),
  etcd: z
    .strictObject({
      autoCompactionMode: z.enum(['periodic', 'revision', 'off'], { error: 'must be periodic, revision or off' }).default(DEFAULTS.autoCompactionMode),
      autoCompactionRetention: z.string().min(1, { error: 'must not be empty' }).optional(),
      quotaBackendBytes: z
        .int({ error: 'must be a whole number of bytes' })
        .min(1024 ** 2, { error: 'must be at least 1048576 (1 MiB)' })
        .max(8 * 1024 ** 3, { error: 'must be at most 8589934592 (8 GiB, the most etcd suggests)' })
        .default(DEFAULTS.quotaBackendBytes),
      extraFlags: z.array(z.string()).default([]),
      env: z.record(envName(), z.string()).default({}),
      heartbeatIntervalMs: z
        .int({ error: 'must be a whole number of milliseconds' })
        .min(10, { error: 'must be at least 10' })
        .max(5000, { error: 'must be at most 5000' })
        .optional(),
      electionTimeoutMs: z
        .int({ error: 'must be a whole number of milliseconds' })
        .min(50, { error: 'must be at least 50' })
        .max(50000, { error: 'must be at most 50000' })
        .optional(),
    })
    .prefault({}),
  tls: z
    .strictObject({
      dir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must not be empty' }),
    })
    .optional(),
  auth: z
    .strictObject({
      passwordEnv: envName().default(DEFAULTS.passwordEnv),
    })
    .optional(),
  hosts: z
    .array(
      z.strictObject({
        name: z
          .string()
          .max(20, { error: 'is longer than 20 characters' })
          .regex(NAME_PATTERN, { error: 'must be a DNS label: lowercase letters, digits and hyphens, starting with a letter' }),
        docker: z.string().regex(/^(unix|tcp|ssh):\/\/\S+$/, { error: 'must be a Docker host: unix:///path, tcp://host:port or ssh://user@host' }),
        sshOpts: z.array(z.string()).default([]),
        address: z.string().refine((a) => isIPv4(a) && a !== '0.0.0.0', { error: 'must be the IPv4 address other hosts reach this host at' }),
      }),
    )
    .min(1, { error: 'must list at least one host (or leave hosts out)' })
    .optional(),
  placement: z
    .strictObject({
      primaries: z.array(z.string()).optional(),
      secondaries: z.array(z.string()).min(1, { error: 'must list at least one host' }).optional(),
    })
    .optional(),
});

/** A validated spec with every default filled in. */
export type ClusterSpec = z.output<typeof specSchema>;

// The props and the schema cannot drift (checked by the compiler): each must be assignable to the other,
// and both must have the same keys at every level (assignability alone lets an extra optional key through).
type SchemaInput = z.input<typeof specSchema>;
type SameKeys<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? false extends {
        [K in keyof A & keyof B]-?: NonNullable<A[K]> extends (infer E)[]
          ? E extends object
            ? SameKeys<E, NonNullable<B[K]> extends (infer F)[] ? F : never>
            : true
          : NonNullable<A[K]> extends object
            ? SameKeys<NonNullable<A[K]>, NonNullable<B[K]>>
            : true;
      }[keyof A & keyof B]
      ? false
      : true
    : false
  : false;
const propsMatchSchema = (p: EtcdClusterProps): SchemaInput => p;
const schemaMatchesProps = (p: SchemaInput): EtcdClusterProps => p;
const sameKeys: SameKeys<Required<EtcdClusterProps>, Required<SchemaInput>> = true;
void [propsMatchSchema, schemaMatchesProps, sameKeys];

/** Backups and restore with the rest of the spec. */
function backupProblem(spec: ClusterSpec): string | undefined {
  if (spec.backup) {
    const ms = goDurationMs(spec.backup.every);
    if (ms < 1000) return `backup.every: must be at least 1s (got ${JSON.stringify(spec.backup.every)})`;
    if (spec.auth) return 'backup: not available with auth yet: the backup container would need the root password in the Terraform state';
  }
  if (spec.restore) {
    if ((spec.initialPrimaries ?? spec.primaries) !== spec.primaries || Object.keys(spec.replace).length) {
      return `restore: every primary of a restored cluster is a founder; leave out initialPrimaries and replace (got initialPrimaries ${spec.initialPrimaries}, replace ${JSON.stringify(spec.replace)})`;
    }
  }
  return undefined;
}

/** A duration like 1h30m in milliseconds. */
function goDurationMs(text: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)].reduce((sum, m) => sum + Number(m[1]) * unit[m[2]], 0);
}

/** Compaction, extra flags and environment: each must agree with the others and with what we set. */
function etcdSettingsProblem(spec: ClusterSpec): string | undefined {
  const { autoCompactionMode: mode, autoCompactionRetention: retention } = spec.etcd;
  if (retention !== undefined) {
    if (mode === 'off')
      return `etcd.autoCompactionRetention: only used with autoCompactionMode periodic or revision (got ${JSON.stringify(retention)} with off)`;
    if (mode === 'periodic' && !PERIODIC_RETENTION.test(retention)) {
      return `etcd.autoCompactionRetention: must be a duration like 1h or 30m with autoCompactionMode periodic (got ${JSON.stringify(retention)})`;
    }
    if (mode === 'revision' && !/^\d+$/.test(retention)) {
      return `etcd.autoCompactionRetention: must be a number of revisions with autoCompactionMode revision (got ${JSON.stringify(retention)})`;
    }
  }
  const flags = extraFlagsProblem(spec.etcd.extraFlags, 'etcd.extraFlags', PRIMARY_FLAGS);
  if (flags) return flags;
  const set = new Set([...Object.keys(PRIMARY_FLAGS), ...spec.etcd.extraFlags.map(flagName)].map(envOfFlag));
  const shadow = Object.keys(spec.etcd.env).find((k) => set.has(k));
  if (shadow)
    return `etcd.env.${shadow}: shadows a flag that is set (etcd exits when a variable and its flag are both given); use the field or extraFlags instead`;
  if (spec.secondary.extraFlags.length && spec.secondary.command) {
    return `secondary.extraFlags: only for the grpc-proxy; a custom secondary.command carries its own flags (got ${JSON.stringify(spec.secondary.extraFlags)})`;
  }
  return extraFlagsProblem(spec.secondary.extraFlags, 'secondary.extraFlags', PROXY_FLAGS);
}

/** Checks that need several fields at once, after each field is valid on its own. */
function crossFieldProblem(spec: ClusterSpec): string | undefined {
  for (const key of Object.keys(spec.replace)) {
    if (Number(key) > spec.primaries) return `replace.${key}: primary ${key} is not declared (primaries: ${spec.primaries})`;
  }
  if (spec.hosts && spec.initialPrimaries !== undefined && spec.initialPrimaries > spec.primaries) {
    return `initialPrimaries: ${spec.initialPrimaries} is more than primaries (${spec.primaries}); with hosts a founder's address comes from its placement, so primaries cannot go below initialPrimaries`;
  }
  const problem = hostsProblem(spec) ?? portsProblem(spec) ?? etcdSettingsProblem(spec) ?? backupProblem(spec);
  if (problem) return problem;
  if (
    spec.etcd.heartbeatIntervalMs !== undefined &&
    spec.etcd.electionTimeoutMs !== undefined &&
    spec.etcd.electionTimeoutMs < 5 * spec.etcd.heartbeatIntervalMs
  ) {
    return `etcd.electionTimeoutMs: ${spec.etcd.electionTimeoutMs} must be at least 5 times etcd.heartbeatIntervalMs (${spec.etcd.heartbeatIntervalMs})`;
  }
  return undefined;
}

/**
 * Validates a spec given as plain data (construct props, or a parsed file).
 * @param source prefixes the message, e.g. the file name.
 */
export function validateSpec(input: unknown, source?: string): ClusterSpec {
  const prefix = source ? `${source}: ` : '';
  if (input === null || input === undefined) {
    throw new SpecError(`${prefix}the spec is empty; expected a mapping with at least "name"`);
  }
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new SpecError(`${prefix}the spec must be a mapping of keys to values (got ${describeValue(input)})`);
  }
  const result = specSchema.safeParse(input);
  if (!result.success) {
    const [first, ...rest] = result.error.issues;
    const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
    throw new SpecError(`${prefix}${formatIssue(first, input, specSchema)}${more}`);
  }
  const problem = crossFieldProblem(result.data);
  if (problem) throw new SpecError(`${prefix}${problem}`);
  return result.data;
}
