import { Container } from '@cdktf/provider-docker/lib/container';
import type { Image } from '@cdktf/provider-docker/lib/image';
import type { Network } from '@cdktf/provider-docker/lib/network';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Construct } from 'constructs';
import { DATA_MOUNT, type PrimaryNode, type SecondaryNode } from '../lib/topology';

export interface EtcdNodeProps {
  /** The member as the topology computed it. */
  readonly node: PrimaryNode | SecondaryNode;
  readonly image: Image;
  readonly network: Network;
  /** Content hash of each upload source, by path: a changed file replaces the container. */
  readonly sourceHashes?: Record<string, string>;
}

/**
 * One member of the cluster: its container and, for a primary, its data volume.
 * Construct IDs inside are a public contract: `container` and `data` (a primary's volume).
 */
export class EtcdNode extends Construct {
  public readonly container: Container;
  /** The data volume; only primaries have one. It lives and dies with the member. */
  public readonly volume?: Volume;

  constructor(scope: Construct, id: string, props: EtcdNodeProps) {
    super(scope, id);
    const { node } = props;
    const labels = Object.entries(node.labels).map(([label, value]) => ({ label, value }));
    const env = Object.entries(node.env).map(([k, v]) => `${k}=${v}`);

    if (node.role === 'primary') {
      this.volume = new Volume(this, 'data', { name: node.volume, labels });
    }

    this.container = new Container(this, 'container', {
      name: node.name,
      hostname: node.name,
      image: props.image.imageId,
      command: node.command,
      env: env.length ? env : undefined,
      restart: 'unless-stopped',
      labels,
      networksAdvanced: [{ name: props.network.name, aliases: [node.name] }],
      // An explicit ip keeps Docker from adding an IPv6 binding that the provider would diff forever.
      ports: [{ internal: node.port.internal, external: node.port.external, ip: node.port.ip, protocol: 'tcp' }],
      volumes: this.volume ? [{ volumeName: this.volume.name, containerPath: DATA_MOUNT }] : undefined,
      healthcheck: node.healthcheck && { ...node.healthcheck },
      // `source`, not `content`: private keys stay out of the Terraform state and plan output.
      upload: node.uploads.length
        ? node.uploads.map((u) => ({ file: u.file, source: u.source, sourceHash: props.sourceHashes?.[u.source], permissions: u.permissions }))
        : undefined,
    });
  }
}
