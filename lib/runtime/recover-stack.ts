/**
 * What `etcd-cluster recover` reads from a synthesized stack (cdk.tf.json): for each primary its member
 * operation (the membership hooks' input: volume, Docker host, peer URL), its container's Terraform address,
 * command and image, and the cluster's bootstrap record. The stack is what Terraform deploys, so it is also
 * what the recovery must agree with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBER_OP_KIND, parseMemberOp, type Expectation, type MemberOp } from '../contract';
import { MembershipError } from './errors';

export interface StackPrimary {
  readonly name: string;
  /** 1-based primary number. */
  readonly index: number;
  readonly endpoint: string;
  readonly op: MemberOp;
  /** Replacement generation, from the data volume's name (`-data-r<g>`); 0 for the original member. */
  readonly generation: number;
  /** `docker_container.<key>` */
  readonly containerAddress: string;
  readonly command: string[];
  /** The image reference its container is created from. */
  readonly image: string;
}

export interface RecoveryStack {
  readonly dir: string;
  readonly cluster: string;
  readonly primaries: StackPrimary[];
  /** `terraform_data.<key>` of the bootstrap record, when the stack has one. */
  readonly bootstrapAddress?: string;
  /** What the verify hook expects (also: the restore's revision). */
  readonly expectation: Expectation;
}

interface TfJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
}

const generationOf = (volume: string) => Number(/-data-r(\d+)$/.exec(volume)?.[1] ?? 0);

/** The primaries of cluster `e` as the stack in `dir` deploys them. */
export function readRecoveryStack(dir: string, e: Expectation): RecoveryStack {
  const file = join(dir, 'cdk.tf.json');
  if (!existsSync(file)) throw new MembershipError(`${dir} holds no cdk.tf.json (run cdktf synth first)`);
  const tf = JSON.parse(readFileSync(file, 'utf8')) as TfJson;
  const data = tf.resource?.terraform_data ?? {};
  const containers = tf.resource?.docker_container ?? {};
  const images = tf.resource?.docker_image ?? {};
  const ops = new Map<string, { key: string; op: MemberOp }>();
  for (const [key, r] of Object.entries(data)) {
    const input = r.input as { kind?: string; cluster?: string } | undefined;
    if (input?.kind === MEMBER_OP_KIND && input.cluster === e.cluster && key.endsWith('_member')) {
      const op = parseMemberOp(JSON.stringify(input), `${file}: terraform_data.${key}`);
      ops.set(op.name, { key, op });
    }
  }
  let stem: string | undefined;
  const primaries = e.primaries.map((p, k): StackPrimary => {
    const found = ops.get(p.name);
    if (!found) throw new MembershipError(`${file}: no membership record of ${p.name} (was the stack synthesized by an older release? synthesize it again)`);
    stem ??= found.key.replace(/_primary-\d+_member$/, '');
    const entry = Object.entries(containers).find(([, c]) => c.name === p.name);
    if (!entry) throw new MembershipError(`${file}: no container named ${p.name}`);
    const [key, c] = entry;
    const imageKey = /\$\{docker_image\.([^.]+)\.image_id\}/.exec(String(c.image))?.[1];
    const image = imageKey ? String(images[imageKey]?.name ?? c.image) : String(c.image);
    return {
      name: p.name,
      index: k + 1,
      endpoint: p.endpoint,
      op: found.op,
      generation: generationOf(found.op.volume),
      containerAddress: `docker_container.${key}`,
      command: (c.command as string[]) ?? [],
      image,
    };
  });
  const bootstrap = stem ? Object.keys(data).find((k) => k.startsWith(`${stem}_bootstrap`)) : undefined;
  return { dir, cluster: e.cluster, primaries, ...(bootstrap ? { bootstrapAddress: `terraform_data.${bootstrap}` } : {}), expectation: e };
}
