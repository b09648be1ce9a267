/**
 * The contract between synthesis and what runs later: what the post-apply hook and the membership hooks
 * hand to the CLI (as JSON in an environment variable, from the hook's `input`), and what the CLI reads
 * back from a synthesized stack. One zod schema per message; the TypeScript types come from the schemas.
 * Imported by the model (which produces these), the constructs (which carry them) and the runtime and CLI
 * (which read them); it imports nothing of theirs.
 *
 * Both messages embed one **target**: the cluster's primaries (how the cluster and the deploying machine
 * reach each, its Docker host and data volume), its TLS client material, its login, and the etcd image of
 * the primaries. Everything that talks to a live cluster starts from a target (lib/runtime/session.ts).
 *
 * Versions: 2 embeds the target. Version 1 (0.2.0 and earlier) is still read: Terraform keeps a hook's
 * input in its state, and a `removed` block's destroy-time provisioner runs with the input the previous
 * release recorded. A version-1 message is converted to version 2 when it is parsed; what version 1 did not
 * record is null there (see `ExpectedTarget`, `MemberOpTarget`).
 */
import { z } from 'zod';

/** The environment variable through which the post-apply hook hands the expectation to `etcd-cluster verify`. */
export const EXPECTATION_ENV = 'ETCD_CLUSTER_EXPECTED';
/** The environment variable through which the membership hooks hand the member to `etcd-cluster member`. */
export const MEMBER_ENV = 'ETCD_CLUSTER_MEMBER';
export const EXPECTATION_KIND = 'cdktf-etcd-cluster/expectation';
export const MEMBER_OP_KIND = 'cdktf-etcd-cluster/member';
/** The environment variable a founder's volume step hands its stagger message in. */
export const STAGGER_ENV = 'ETCD_CLUSTER_STAGGER';
export const STAGGER_KIND = 'cdktf-etcd-cluster/stagger';
/** The version of both messages this release writes. */
export const CONTRACT_VERSION = 2;

/** A message that does not match its schema: one line naming the field. */
export class ContractError extends Error {}

const url = z.string().regex(/^https?:\/\/[^/\s]+$/, { error: 'must be a URL like http://host:port' });
/** A member's metrics endpoint (`http://host:port/metrics`); null without `metrics` in the spec. */
const metricsUrl = z
  .string()
  .regex(/^http:\/\/[^/\s]+\/metrics$/)
  .nullable();
const tls = z.object({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) }).nullable();
const auth = z.object({ user: z.literal('root'), passwordEnv: z.string().min(1) }).nullable();
/** A Docker host as the provider reaches it (`unix://...`, `tcp://...`, `ssh://user@host`). */
/** A Docker host as the provider reaches it (`unix://`, `tcp://`, `ssh://user@host` with its ssh options); the one shape everywhere. */
export const dockerHost = z.object({ host: z.string().min(1), sshOpts: z.array(z.string()) });
const semver = z.string().regex(/^\d+\.\d+\.\d+$/, { error: 'must be a version like 3.5.21' });

export const targetPrimarySchema = z.object({
  /** The etcd member name, also the container's name. */
  name: z.string().min(1),
  /** 1-based position in the spec (`<cluster>-primary-<index>`). */
  index: z.number().int().min(1),
  /** The client URL the member advertises: how the cluster (and its member list) names it. */
  clientUrl: url,
  /** The peer URL the member advertises. */
  peerUrl: url,
  /** Where the deploying machine reaches its client port (the published port). */
  endpoint: url,
  /** Its metrics endpoint as the deploying machine reaches it; null without `metrics`. */
  metrics: metricsUrl,
  /** Its Docker host; null: the deploying machine's default (DOCKER_HOST, else the local socket). */
  docker: dockerHost.nullable(),
  /** Its data volume: lives and dies with the member. */
  volume: z.string().min(1),
});

export const targetSchema = z.object({
  cluster: z.string().min(1),
  /** In spec order. In a member operation, primaries 1..i (see `memberOpSchema`). */
  primaries: z.array(targetPrimarySchema).min(1),
  /** Client certificate the CLI presents, when the cluster uses TLS. */
  tls,
  /** etcd RBAC: the CLI logs in as `user` with the password from `passwordEnv`. */
  auth,
  /** The primaries' image, and the etcd version its tag names (`v3.5.21`, `3.5.21-local`); null when it names none. */
  image: z.object({ ref: z.string().min(1), version: semver.nullable() }),
});

/** The cluster as everything that talks to it needs it; embedded in both messages. */
export type Target = z.infer<typeof targetSchema>;
export type TargetPrimary = z.infer<typeof targetPrimarySchema>;
export type DockerHost = z.infer<typeof dockerHost>;

/** A certificate file the cluster uses, as `verify` and `members` show its expiry. */
export const certificateFileSchema = z.object({
  /** Its file name in the TLS directory: `ca.crt`, `<member>.crt`, `client.crt`, `upstream.crt`. */
  name: z.string().min(1),
  /** Where the deploying machine reads it: relative to the stack directory (an asset), or absolute. */
  path: z.string().min(1),
  /**
   * What it is: the CA bundle every member and client trusts (`ca`), a primary's server and peer certificate
   * (`server-peer`), a secondary's server certificate (`server`), the verifier's client certificate
   * (`client`, also the backup container's), the grpc-proxies' towards the primaries (`upstream`).
   */
  use: z.enum(['ca', 'server-peer', 'server', 'client', 'upstream']),
  /** The members (or the backup container) that present it; for a server certificate, the one member that serves it. */
  members: z.array(z.string()),
});

export type CertificateFile = z.infer<typeof certificateFileSchema>;

export const expectationSchema = z.object({
  kind: z.literal(EXPECTATION_KIND),
  version: z.literal(2),
  target: targetSchema,
  registryPrefix: z.string().min(1),
  verifyPrefix: z.string().min(1),
  secondaries: z.array(z.object({ name: z.string().min(1), registrationKey: z.string().min(1).nullable(), endpoint: url, metrics: metricsUrl })),
  /** The revision a cluster restored from a snapshot must serve at least. */
  minRevision: z.string().regex(/^\d+$/).nullable(),
  /** The backup container, where `etcd-cluster backups` asks for the snapshots. */
  backup: z
    .object({
      container: z.string().min(1),
      docker: dockerHost.nullable(),
      /**
       * The object store (`backup.store`): the image and flags of `etcd-backup` that reach it, the host
       * files they mount, and how far it may trail before verify warns. Absent without a store.
       */
      store: z
        .object({
          image: z.string().min(1),
          args: z.array(z.string().min(1)),
          binds: z.array(z.object({ hostPath: z.string().min(1), containerPath: z.string().min(1) })),
          maxBehind: z.string().min(1),
          /** The same in milliseconds, decided by the model. */
          maxBehindMs: z.number().int().positive(),
        })
        .optional(),
    })
    .nullable(),
  /**
   * The quota and etcd's defragmentation rule (`defrag --if-needed`, `reclaim`), and how often the backup
   * container applies it (null: it does not). Absent from the messages of releases before it (read as null).
   */
  space: z
    .object({
      quotaBytes: z.number().int().positive(),
      quotaPercent: z.number().int().min(1).max(100),
      reclaimableBytes: z.number().int().positive(),
      defragEvery: z.string().min(1).nullable(),
    })
    .nullable()
    .optional(),
  /**
   * With TLS, every certificate file the cluster uses and the days before expiry from which `verify` warns;
   * absent without TLS. Added after 0.2.0 without a new version, since no reader breaks: absent in the
   * messages of earlier releases (then only the target's CA and client certificate are known), and a
   * reader that does not know it ignores it (zod drops unknown keys).
   */
  certificates: z
    .object({ warnDays: z.number().int().min(0), files: z.array(certificateFileSchema) })
    .nullable()
    .optional(),
});

/** An expectation as this release writes it. */
export type ExpectationMessage = z.infer<typeof expectationSchema>;

/**
 * What the verifier needs to know of a cluster; serialized into the hook and read back by the CLI: this
 * release's message, or a version-1 message converted (see `ExpectedTarget`).
 */
export interface Expectation extends Omit<ExpectationMessage, 'target'> {
  readonly target: ExpectedTarget;
}

export const memberOpSchema = z
  .object({
    kind: z.literal(MEMBER_OP_KIND),
    version: z.literal(2),
    /**
     * Primaries 1..i, i being this member: stable while the cluster grows further, so that adding a primary
     * changes no earlier member's hook. A replacement lists every primary (primary i is the one replaced).
     */
    target: targetSchema,
    /** The member this operation adds, promotes or removes: one of the target's primaries, by name. */
    member: z.string().min(1),
    /** True when the member replaces an earlier one of the same name (spec `replace`): add removes the old one first. */
    replaces: z.boolean(),
  })
  .refine((op) => op.target.primaries.some((p) => p.name === op.member), { error: 'must name one of target.primaries', path: ['member'] });

/** What `etcd-cluster member add|promote|remove` needs, as this release writes it. */
export type MemberOpMessage = z.infer<typeof memberOpSchema>;

/**
 * What a founder's volume step hands to `etcd-cluster member stagger` on a new cluster's first deploy: wait
 * until the container of `after` (the founder before `member`) runs on its Docker host, at most
 * `timeoutSeconds`, so that no two founders boot at the same moment (see the topology's `startsAfter`).
 */
export const staggerSchema = z.object({
  kind: z.literal(STAGGER_KIND),
  cluster: z.string().min(1),
  /** The founder about to start. */
  member: z.string().min(1),
  /** The founder whose container must run first: its container's name. */
  after: z.string().min(1),
  /** The Docker host of `after`; null: DOCKER_HOST, else the local socket. */
  docker: dockerHost.nullable(),
  timeoutSeconds: z.number().int().min(1),
});

export type StaggerMessage = z.infer<typeof staggerSchema>;

/**
 * A target as an expectation carries it when read: this release's (a `Target`), or one converted from
 * version 1, which recorded every primary's URLs but not its volume (null) nor the image (null); its Docker
 * hosts are null there (version 1 assumed the default host).
 */
export interface ExpectedTarget extends Omit<Target, 'primaries' | 'image'> {
  readonly primaries: (Omit<TargetPrimary, 'volume'> & { readonly volume: string | null })[];
  readonly image: Target['image'] | null;
}

/**
 * A target as a member operation carries it when read: this release's, or one converted from version 1,
 * which recorded the member's peer URL, volume and Docker host and of the others only their endpoints (the
 * rest null, and the image too).
 */
export interface MemberOpTarget extends Omit<Target, 'primaries' | 'image'> {
  readonly primaries: (Omit<TargetPrimary, 'clientUrl' | 'peerUrl' | 'volume'> & {
    readonly clientUrl: string | null;
    readonly peerUrl: string | null;
    readonly volume: string | null;
  })[];
  readonly image: Target['image'] | null;
}

/** A member operation as the CLI runs it: this release's message, or a version-1 message converted. */
export interface MemberOp extends Omit<MemberOpMessage, 'target'> {
  readonly target: MemberOpTarget;
}

/** The member an operation is about. */
export function memberOf(op: MemberOp): MemberOp['target']['primaries'][number] {
  return op.target.primaries.find((p) => p.name === op.member)!;
}

// --- Version 1 (0.2.0 and earlier), read only --------------------------------------------------------------

const expectationV1Schema = z.object({
  kind: z.literal(EXPECTATION_KIND),
  version: z.literal(1),
  cluster: z.string().min(1),
  registryPrefix: z.string().min(1),
  verifyPrefix: z.string().min(1),
  primaries: z.array(z.object({ name: z.string().min(1), peerUrl: url, clientUrl: url, endpoint: url, metrics: metricsUrl.optional() })).min(1),
  secondaries: z.array(z.object({ name: z.string().min(1), registrationKey: z.string().min(1).nullable(), endpoint: url, metrics: metricsUrl.optional() })),
  minRevision: z.string().regex(/^\d+$/).nullable().optional(),
  backup: z
    .object({ container: z.string().min(1), docker: dockerHost.nullable() })
    .nullable()
    .optional(),
  tls,
  auth,
});

const memberOpV1Schema = z.object({
  kind: z.literal(MEMBER_OP_KIND),
  version: z.literal(1),
  cluster: z.string().min(1),
  name: z.string().min(1),
  peerUrl: url,
  /** Host endpoints of primaries 1..i (all of them for a replacement), in order. */
  endpoints: z.array(url).min(1),
  replaces: z.boolean(),
  volume: z.string().min(1),
  docker: dockerHost.nullable(),
  tls,
  auth,
});

/** A version-1 expectation as version 2: the primaries' index is their position; volumes and image null. */
function expectationFromV1(v1: z.infer<typeof expectationV1Schema>): Expectation {
  return {
    kind: EXPECTATION_KIND,
    version: 2,
    target: {
      cluster: v1.cluster,
      primaries: v1.primaries.map((p, k) => ({ ...p, index: k + 1, metrics: p.metrics ?? null, docker: null, volume: null })),
      tls: v1.tls,
      auth: v1.auth,
      image: null,
    },
    registryPrefix: v1.registryPrefix,
    verifyPrefix: v1.verifyPrefix,
    secondaries: v1.secondaries.map((s) => ({ ...s, metrics: s.metrics ?? null })),
    minRevision: v1.minRevision ?? null,
    backup: v1.backup ?? null,
    space: null,
  };
}

/**
 * A version-1 member operation as version 2. Its `endpoints` were the host endpoints of primaries 1..n by
 * position, and primary k is named `<cluster>-primary-<k>` (the naming contract): so the target lists them
 * by name; of the other primaries version 1 recorded nothing more.
 */
function memberOpFromV1(v1: z.infer<typeof memberOpV1Schema>, source: string): MemberOp {
  const primaries = v1.endpoints.map((endpoint, k) => {
    const name = `${v1.cluster}-primary-${k + 1}`;
    return name === v1.name
      ? { name, index: k + 1, endpoint, clientUrl: null, peerUrl: v1.peerUrl, metrics: null, docker: v1.docker, volume: v1.volume }
      : { name, index: k + 1, endpoint, clientUrl: null, peerUrl: null, metrics: null, docker: null, volume: null };
  });
  if (!primaries.some((p) => p.name === v1.name)) {
    throw new ContractError(
      `${source}: malformed member: name: ${v1.name} is none of the primaries its endpoints list (${primaries.map((p) => p.name).join(', ')})`,
    );
  }
  return {
    kind: MEMBER_OP_KIND,
    version: 2,
    target: { cluster: v1.cluster, primaries, tls: v1.tls, auth: v1.auth, image: null },
    member: v1.name,
    replaces: v1.replaces,
  };
}

// --- Parsing -----------------------------------------------------------------------------------------------

function parseWith<T>(schema: z.ZodType<T>, data: unknown, source: string, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ContractError(`${source}: malformed ${what}: ${issue.path.map(String).join('.') || what}: ${issue.message}`);
  }
  return r.data;
}

function parseJson(text: string | undefined, source: string): unknown {
  if (text === undefined || text === '') throw new ContractError(`${source}: not set`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ContractError(`${source}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * A message in an environment variable (`source`), by its schema: one line when it is not set (`setBy` says
 * who sets it), not JSON, or not of the schema (naming the field).
 */
export function parseMessage<T>(schema: z.ZodType<T>, text: string | undefined, source: string, what: string, setBy: string): T {
  if (!text) throw new ContractError(`${source}: not set (${setBy} sets it)`);
  return parseWith(schema, parseJson(text, source), source, what);
}

const versionOf = (data: unknown) => (data && typeof data === 'object' ? (data as { version?: unknown }).version : undefined);

/** An expectation of version 2, or of version 1 converted. */
export function parseExpectation(data: unknown, source: string): Expectation {
  if (versionOf(data) === 1) return expectationFromV1(parseWith(expectationV1Schema, data, source, 'expectation'));
  return parseWith(expectationSchema, data, source, 'expectation');
}

export function parseExpectationText(text: string | undefined, source: string): Expectation {
  return parseExpectation(parseJson(text, source), source);
}

/** A member operation of version 2, or of version 1 converted. */
export function parseMemberOp(text: string | undefined, source: string): MemberOp {
  if (!text) throw new ContractError(`${source}: not set (the membership hooks set it)`);
  const data = parseJson(text, source);
  if (versionOf(data) === 1) return memberOpFromV1(parseWith(memberOpV1Schema, data, source, 'member'), source);
  return parseWith(memberOpSchema, data, source, 'member');
}

/** A founder's stagger message, as its volume step sets it. */
export function parseStagger(text: string | undefined, source: string): StaggerMessage {
  return parseMessage(staggerSchema, text, source, 'stagger', "a founder's volume step");
}

/** The message with its TLS file paths mapped (relative to the stack directory, or back to absolute), its certificate files' too. */
export function withTlsPaths<T extends { readonly target: { readonly tls: Target['tls'] }; readonly certificates?: ExpectationMessage['certificates'] }>(
  m: T,
  map: (path: string) => string,
): T {
  const t = m.target.tls;
  const c = m.certificates;
  return {
    ...m,
    ...(t ? { target: { ...m.target, tls: { ca: map(t.ca), cert: map(t.cert), key: map(t.key) } } } : {}),
    ...(c ? { certificates: { ...c, files: c.files.map((f) => ({ ...f, path: map(f.path) })) } } : {}),
  };
}
