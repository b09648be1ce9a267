/**
 * The spec's schema: each field on its own (type, range, pattern, default). What needs several fields at
 * once is in `rules.ts`; `validate.ts` runs both. Every default comes from `DEFAULTS`.
 */
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { DEFAULTS } from './defaults';
import type { ClusterSpec, EtcdClusterProps } from './props';

/** Voting member counts we accept: odd, at most 9. */
export const VALID_PRIMARY_COUNTS = [1, 3, 5, 7, 9] as const;
/** Longest cluster name: `<name>-secondary-<j>` must stay a DNS label (63 characters). */
export const MAX_NAME_LENGTH = 40;

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
    else {
      // n voters need a majority of n/2 + 1, so an even n tolerates n/2 - 1 failures: as many as n - 1 voters.
      const f = n / 2 - 1;
      why = `an even count can split the vote into equal halves and tolerates ${f} failure${f === 1 ? '' : 's'}, as ${n - 1} ${n - 1 === 1 ? 'does' : 'do'}`;
    }
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
  recoveries: z
    .array(
      z.strictObject({
        from: z
          .int({ error: 'must be a primary number 1 to 9' })
          .min(1, { error: 'must be a primary number 1 to 9' })
          .max(9, { error: 'must be a primary number 1 to 9' }),
        rejoined: z.record(
          z.string().regex(/^[1-9]$/, { error: 'keys must be primary numbers 1 to 9' }),
          z.int({ error: 'must be a whole generation number, 1 or more' }).min(1, { error: 'must be a whole generation number, 1 or more' }),
        ),
      }),
    )
    .default([]),
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
      store: z
        .strictObject({
          endpoint: z.string().regex(/^https?:\/\/[^/\s?#]+\/?$/, { error: "must be the store's URL, http://host:port or https://host:port, with no path" }),
          bucket: z
            .string()
            .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens' }),
          prefix: z
            .string()
            .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, {
              error: 'must be words of letters, digits, dots, hyphens or underscores joined by /, without a leading or trailing /',
            })
            .optional(),
          region: z
            .string()
            .regex(/^[a-z0-9-]{1,32}$/, { error: 'must be a region name like us-east-1' })
            .default(DEFAULTS.storeRegion),
          pathStyle: z.boolean().default(true),
          credentialsFile: z
            .string()
            .regex(/^\/\S*$/, { error: 'must be an absolute file on the Docker host (AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines)' }),
          caFile: z
            .string()
            .regex(/^\/\S*$/, { error: 'must be an absolute file on the Docker host' })
            .optional(),
          deltaEvery: z
            .string()
            .regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, { error: 'must be a duration like 1s, 500ms or 5s' })
            .default(DEFAULTS.storeDeltaEvery),
          maxBehind: z
            .string()
            .regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, { error: 'must be a duration like 30s or 5m' })
            .default(DEFAULTS.storeMaxBehind),
        })
        .optional(),
    })
    .optional(),
  defrag: z
    .strictObject({
      enabled: z.boolean().optional(),
      every: z
        .string()
        .regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, { error: 'must be a duration like 5m, 30s or 1h' })
        .default(DEFAULTS.defragEvery),
      quotaPercent: z
        .int({ error: 'must be a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(100, { error: 'must be at most 100' })
        .default(DEFAULTS.defragQuotaPercent),
      reclaimableMiB: z
        .int({ error: 'must be a whole number of MiB' })
        .min(1, { error: 'must be at least 1' })
        .max(8192, { error: 'must be at most 8192 (8 GiB, the largest quota)' })
        .default(DEFAULTS.defragReclaimableMiB),
    })
    .optional(),
  restore: z
    .strictObject({
      snapshot: z.string({ error: 'must be the path of a snapshot file' }).min(1, { error: 'must not be empty' }),
      bumpRevision: z
        .int({ error: 'must be a whole number of revisions, 0 or more' })
        .min(0, { error: 'must be a whole number of revisions, 0 or more' })
        .max(Number.MAX_SAFE_INTEGER / 2, { error: 'is too large' })
        .optional(),
    })
    .optional(),
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
      expiryWarningDays: z
        .int({ error: 'must be a whole number of days' })
        .min(0, { error: 'must be 0 or more' })
        .max(3650, { error: 'must be at most 3650' })
        .default(DEFAULTS.expiryWarningDays),
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

// The props, the schema and the validated spec cannot drift (checked by the compiler): the props (readonly
// aside) and the schema's input must be assignable to each other, the schema's output to `ClusterSpec`, and all of them must
// have the same keys at every level (assignability alone lets an extra optional key through).
type SchemaInput = z.input<typeof specSchema>;
type SchemaOutput = z.output<typeof specSchema>;
type SameKeys<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? false extends {
        [K in keyof A & keyof B]-?: NonNullable<A[K]> extends readonly (infer E)[]
          ? E extends object
            ? SameKeys<E, NonNullable<B[K]> extends readonly (infer F)[] ? F : never>
            : true
          : NonNullable<A[K]> extends object
            ? SameKeys<NonNullable<A[K]>, NonNullable<B[K]>>
            : true;
      }[keyof A & keyof B]
      ? false
      : true
    : false
  : false;
/** The type with every `readonly` taken off, at every level: the schema's types are mutable, the props' are not. */
type Mutable<T> = T extends readonly (infer E)[] ? Mutable<E>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
const propsMatchSchema = (p: Mutable<EtcdClusterProps>): SchemaInput => p;
const schemaMatchesProps = (p: SchemaInput): EtcdClusterProps => p;
const outputIsSpec = (s: SchemaOutput): ClusterSpec => s;
const sameKeys: SameKeys<Required<EtcdClusterProps>, Required<SchemaInput>> = true;
const sameSpecKeys: SameKeys<Required<ClusterSpec>, Required<SchemaOutput>> = true;
void [propsMatchSchema, schemaMatchesProps, outputIsSpec, sameKeys, sameSpecKeys];
