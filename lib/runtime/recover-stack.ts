/**
 * What `etcd-cluster recover` reads from a synthesized stack: the cluster's target (its hooks' input: each
 * primary's endpoint, Docker host and data volume, the image and its etcd version), and from cdk.tf.json
 * what the target does not carry: each primary's container (its Terraform address and command) and the
 * cluster's bootstrap record. The stack is what Terraform deploys, so it is also what the recovery must
 * agree with.
 */
import type { DockerHost, Expectation } from '../contract';
import { SynthesizedStack } from '../contract/stack';
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

const generationOf = (volume: string) => Number(/-data-r(\d+)$/.exec(volume)?.[1] ?? 0);

/** The primaries of cluster `e` as the stack in `dir` deploys them. */
export function readRecoveryStack(dir: string, e: Expectation): RecoveryStack {
  const stack = SynthesizedStack.read(dir);
  const t = e.target;
  if (!t.image || t.primaries.some((p) => !p.volume)) {
    throw new InvalidRequest(`${stack.file}: synthesized by an older release (its hooks do not name the volumes); synthesize it again`);
  }
  const primaries = t.primaries.map((p): StackPrimary => {
    const c = stack.container(p.name);
    return {
      name: p.name,
      index: p.index,
      endpoint: p.endpoint,
      docker: p.docker,
      volume: p.volume!,
      generation: generationOf(p.volume!),
      containerAddress: c.address,
      command: c.command,
      image: t.image!.ref,
    };
  });
  const bootstrap = stack.bootstrapAddress(t.cluster);
  return {
    dir,
    cluster: t.cluster,
    primaries,
    ...(t.image!.version ? { etcdVersion: t.image!.version } : {}),
    ...(bootstrap ? { bootstrapAddress: bootstrap } : {}),
    expectation: e,
  };
}

/** The stack in `dir` as it is now (after synthesizing again): cluster `cluster`'s primaries. */
export function rereadRecoveryStack(dir: string, cluster: string): RecoveryStack {
  return readRecoveryStack(dir, SynthesizedStack.read(dir).expectation(cluster));
}
