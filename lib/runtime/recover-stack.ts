/**
 * What `etcd-cluster recover` reads from a synthesized stack: the cluster's target (its hooks' input: each
 * primary's endpoint, Docker host and data volume, the image and its etcd version), and from cdk.tf.json
 * what the target does not carry: each primary's container (its Terraform address and command) and the
 * cluster's bootstrap record. The stack is what Terraform deploys, so it is also what the recovery must
 * agree with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBER_OP_KIND, type DockerHost, type Expectation } from '../contract';
import { InvalidRequest } from './errors';

export interface StackPrimary {
  readonly name: string;
  /** 1-based primary number. */
  readonly index: number;
  readonly endpoint: string;
  /** Its Docker host; null: the deploying machine's default. */
  readonly docker: DockerHost | null;
  readonly volume: string;
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
  /** The etcd version the primaries' image tag names; undefined when it names none. */
  readonly etcdVersion?: string;
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
  if (!existsSync(file)) throw new InvalidRequest(`${dir} holds no cdk.tf.json (run cdktf synth first)`);
  const t = e.target;
  if (!t.image || t.primaries.some((p) => !p.volume)) {
    throw new InvalidRequest(`${file}: synthesized by an older release (its hooks do not name the volumes); synthesize it again`);
  }
  const tf = JSON.parse(readFileSync(file, 'utf8')) as TfJson;
  const data = tf.resource?.terraform_data ?? {};
  const containers = tf.resource?.docker_container ?? {};
  // The membership records have fixed addresses, `<stem>_primary-<i>_member`: the stem names the cluster's
  // other resources (its bootstrap record) too.
  const record = Object.entries(data).find(([key, r]) => {
    const input = r.input as { kind?: string; target?: { cluster?: string } } | undefined;
    return key.endsWith('_member') && input?.kind === MEMBER_OP_KIND && input.target?.cluster === t.cluster;
  });
  const stem = record?.[0].replace(/_primary-\d+_member$/, '');
  const primaries = t.primaries.map((p): StackPrimary => {
    const entry = Object.entries(containers).find(([, c]) => c.name === p.name);
    if (!entry) throw new InvalidRequest(`${file}: no container named ${p.name}`);
    const [key, c] = entry;
    return {
      name: p.name,
      index: p.index,
      endpoint: p.endpoint,
      docker: p.docker,
      volume: p.volume!,
      generation: generationOf(p.volume!),
      containerAddress: `docker_container.${key}`,
      command: (c.command as string[]) ?? [],
      image: t.image!.ref,
    };
  });
  const bootstrap = stem ? Object.keys(data).find((k) => k.startsWith(`${stem}_bootstrap`)) : undefined;
  return {
    dir,
    cluster: t.cluster,
    primaries,
    ...(t.image!.version ? { etcdVersion: t.image!.version } : {}),
    ...(bootstrap ? { bootstrapAddress: `terraform_data.${bootstrap}` } : {}),
    expectation: e,
  };
}
