/**
 * What a cluster's state guard hands to `etcd-cluster guard`: the cluster and its Docker hosts. The guard is
 * the first step of a cluster's first deploy (everything that creates, adopts or changes something depends
 * on it) and of a deploy whose state lost the cluster; what the stack declares it reads from the stack
 * itself (it runs where Terraform runs). The message is a literal in the provisioner's environment, not in
 * the guard's state: moving a host's ssh options changes it without changing the plan.
 */
import { z } from 'zod';
import { dockerHost, parseMessage } from './index';

export const GUARD_KIND = 'cdktf-etcd-cluster/guard';
/** The message, as JSON, in the guard's provisioner environment. */
export const GUARD_ENV = 'ETCD_CLUSTER_GUARD';

export const guardSchema = z.object({
  kind: z.literal(GUARD_KIND),
  cluster: z.string().min(1),
  /** Each Docker host of the cluster; null: the deploying machine's default (DOCKER_HOST, else the local socket). */
  hosts: z.array(dockerHost.nullable()).min(1),
});

export type GuardMessage = z.infer<typeof guardSchema>;

export function parseGuard(text: string | undefined, source: string): GuardMessage {
  return parseMessage(guardSchema, text, source, 'guard', "the cluster's state guard");
}
