/**
 * The contract between synthesis and what runs later: what the post-apply hook and the membership hooks
 * hand to the CLI (as JSON in an environment variable, from the hook's `input`), and what the CLI reads
 * back from a synthesized stack. One zod schema per message; the TypeScript types come from the schemas.
 * Imported by the model (which produces these), the constructs (which carry them) and the runtime and CLI
 * (which read them); it imports nothing of theirs.
 */
import { z } from 'zod';

/** The environment variable through which the post-apply hook hands the expectation to `etcd-cluster verify`. */
export const EXPECTATION_ENV = 'ETCD_CLUSTER_EXPECTED';
/** The environment variable through which the membership hooks hand the member to `etcd-cluster member`. */
export const MEMBER_ENV = 'ETCD_CLUSTER_MEMBER';
export const EXPECTATION_KIND = 'cdktf-etcd-cluster/expectation';
export const MEMBER_OP_KIND = 'cdktf-etcd-cluster/member';

/** A message that does not match its schema: one line naming the field. */
export class ContractError extends Error {}

const url = z.string().regex(/^https?:\/\/[^/\s]+$/, { error: 'must be a URL like http://host:port' });
/** A member's metrics endpoint (`http://host:port/metrics`); null or absent without `metrics` in the spec. */
const metricsUrl = z
  .string()
  .regex(/^http:\/\/[^/\s]+\/metrics$/)
  .nullable()
  .optional();
const tls = z.object({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) }).nullable();
const auth = z.object({ user: z.literal('root'), passwordEnv: z.string().min(1) }).nullable();

export const expectationSchema = z.object({
  kind: z.literal(EXPECTATION_KIND),
  version: z.literal(1),
  cluster: z.string().min(1),
  registryPrefix: z.string().min(1),
  verifyPrefix: z.string().min(1),
  primaries: z.array(z.object({ name: z.string().min(1), peerUrl: url, clientUrl: url, endpoint: url, metrics: metricsUrl })).min(1),
  secondaries: z.array(z.object({ name: z.string().min(1), registrationKey: z.string().min(1).nullable(), endpoint: url, metrics: metricsUrl })),
  /** The revision a cluster restored from a snapshot must serve at least. */
  minRevision: z.string().regex(/^\d+$/).nullable().optional(),
  /** The backup container, where `etcd-cluster backups` asks for the snapshots. */
  backup: z
    .object({ container: z.string().min(1), docker: z.object({ host: z.string().min(1), sshOpts: z.array(z.string()) }).nullable() })
    .nullable()
    .optional(),
  /** Client certificate the verifier presents, when the cluster uses TLS. */
  tls,
  /** etcd RBAC: the verifier logs in as `user` with the password from `passwordEnv`. */
  auth,
});

/** What the verifier needs to know of a cluster; serialized into the hook and read back by the CLI. */
export type Expectation = z.infer<typeof expectationSchema>;

export const memberOpSchema = z.object({
  kind: z.literal(MEMBER_OP_KIND),
  version: z.literal(1),
  cluster: z.string().min(1),
  name: z.string().min(1),
  peerUrl: url,
  /**
   * Host endpoints of primaries 1..i: stable while the cluster grows further. A replacement lists every
   * primary, since primary i itself is the one being replaced.
   */
  endpoints: z.array(url).min(1),
  /** True when the member replaces an earlier one of the same name (spec `replace`): add removes the old one first. */
  replaces: z.boolean(),
  /** The member's data volume, which must not exist yet when it joins (a leftover holds a removed member's data). */
  volume: z.string().min(1),
  /** Docker host of the volume (`unix://...`, `ssh://...`); null: the deploying machine's default (DOCKER_HOST). */
  docker: z.object({ host: z.string().min(1), sshOpts: z.array(z.string()) }).nullable(),
  tls,
  auth,
});

/** What `etcd-cluster member add|promote|remove` needs: the member, and where the cluster answers. */
export type MemberOp = z.infer<typeof memberOpSchema>;

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

export function parseExpectation(data: unknown, source: string): Expectation {
  return parseWith(expectationSchema, data, source, 'expectation');
}

export function parseExpectationText(text: string | undefined, source: string): Expectation {
  return parseExpectation(parseJson(text, source), source);
}

export function parseMemberOp(text: string | undefined, source: string): MemberOp {
  if (!text) throw new ContractError(`${source}: not set (the membership hooks set it)`);
  return parseWith(memberOpSchema, parseJson(text, source), source, 'member');
}
