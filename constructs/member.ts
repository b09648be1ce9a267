/** What primaries and secondaries share: the Docker host they run on, and how their container is rendered. */
import type { ITerraformDependable, TerraformProvider } from 'cdktf';
import { Container } from '@cdktf/provider-docker/lib/container';
import type { Image } from '@cdktf/provider-docker/lib/image';
import type { Volume } from '@cdktf/provider-docker/lib/volume';
import type { Construct } from 'constructs';
import { DATA_MOUNT, type MemberNode } from '../lib/model';
import type { EtcdNetwork } from './network';

/** The Docker host a member runs on: its provider, the cluster's network and image there. */
export interface MemberHost {
  readonly image: Image;
  readonly network: EtcdNetwork;
  /** The provider of the member's Docker host; undefined: the stack's default provider. */
  readonly provider?: TerraformProvider;
  /** Where each upload source is in the stack directory (an asset), and its content hash. */
  readonly files?: FileRef;
}

/** A file on the deploying machine as the configuration names it: relative to the stack directory. */
export type FileRef = (source: string) => { readonly path: string; readonly hash?: string };

/** The member's container, construct ID `container`. */
export function memberContainer(
  scope: Construct,
  node: MemberNode,
  host: MemberHost,
  opts: { readonly volume?: Volume; readonly dependsOn?: ITerraformDependable[] } = {},
): Container {
  const env = Object.entries(node.env).map(([k, v]) => `${k}=${v}`);
  // In the order the provider reads them back: by container port.
  const ports = [node.port, ...(node.role === 'primary' && node.peerPort ? [node.peerPort] : []), ...(node.metricsPort ? [node.metricsPort] : [])].sort(
    (a, b) => a.internal - b.internal,
  );
  return new Container(scope, 'container', {
    provider: host.provider,
    name: node.name,
    hostname: node.name,
    image: host.image.imageId,
    command: node.command,
    env: env.length ? env : undefined,
    restart: 'unless-stopped',
    // Stop with SIGTERM and give etcd time to leave cleanly before Docker kills it; the provider's
    // default (0) kills at once.
    destroyGraceSeconds: node.stopGraceSeconds,
    labels: Object.entries(node.labels).map(([label, value]) => ({ label, value })),
    // The network's ID; a new network (another ID) replaces the container through the network's lifecycle
    // (constructs/network.ts), instead of failing to delete a network with active endpoints.
    networksAdvanced: [{ name: host.network.id, aliases: node.aliases }],
    lifecycle: host.network.containerLifecycle,
    // Memory changes in place; no swap beyond it (etcd must not swap), which is also what Docker reads back.
    memory: node.resources.memoryMiB,
    memorySwap: node.resources.memoryMiB,
    cpus: node.resources.cpus === undefined ? undefined : String(node.resources.cpus),
    // An explicit ip keeps Docker from adding an IPv6 binding that the provider would diff forever.
    ports: ports.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip, protocol: 'tcp' })),
    volumes: opts.volume ? [{ volumeName: opts.volume.name, containerPath: DATA_MOUNT }] : undefined,
    healthcheck: node.healthcheck && { ...node.healthcheck },
    // `source`, not `content`: private keys stay out of the Terraform state and plan output; a changed file
    // (another hash) replaces the container.
    upload: node.uploads.length
      ? node.uploads.map((u) => {
          const f = host.files?.(u.source);
          return { file: u.file, source: f?.path ?? u.source, sourceHash: f?.hash, permissions: u.permissions };
        })
      : undefined,
    dependsOn: opts.dependsOn,
  });
}
