/**
 * What the cluster's network step hands to `etcd-cluster network create|remove`: the network as Docker should
 * have it (the step's `triggers_replace`, so that a change of any field replaces the network and every
 * container on it) and, apart from it, the Docker host it lives on (a literal in the provisioner's
 * environment: moving the ssh options of a host must not replace a network).
 */
import { z } from 'zod';
import { dockerHost, parseMessage, type DockerHost } from './index';

export const NETWORK_KIND = 'cdktf-etcd-cluster/network';
/** The network, as JSON: the network step's `triggers_replace`. */
export const NETWORK_ENV = 'ETCD_CLUSTER_NETWORK';
/** The Docker host it lives on, as JSON (`{"host": ..., "sshOpts": [...]}`); unset: DOCKER_HOST or the local socket. */
export const NETWORK_DOCKER_ENV = 'ETCD_CLUSTER_NETWORK_DOCKER';

export const networkSchema = z.object({
  kind: z.literal(NETWORK_KIND),
  cluster: z.string().min(1),
  name: z.string().min(1),
  driver: z.literal('bridge'),
  labels: z.record(z.string(), z.string()),
  /** IPv4 CIDR and its gateway, or null: Docker chooses (and any subnet of an existing network is accepted). */
  subnet: z.string().min(1).nullable(),
  gateway: z.string().min(1).nullable(),
});

/** One Docker network of a cluster, as the network step declares it. */
export type NetworkDef = z.infer<typeof networkSchema>;

export const networkDockerSchema = dockerHost;
export type NetworkDocker = DockerHost;

export function parseNetwork(text: string | undefined, source: string): NetworkDef {
  return parseMessage(networkSchema, text, source, 'network', 'the network step');
}

/** The Docker host of a network step; undefined when it names none (DOCKER_HOST or the local socket). */
export function parseNetworkDocker(text: string | undefined, source: string): NetworkDocker | undefined {
  return text ? parseMessage(networkDockerSchema, text, source, 'docker host', 'the network step') : undefined;
}
