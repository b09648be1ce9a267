/** A stateless member: an etcd client (a grpc-proxy, or the user's own application) with no volume and no hooks. */
import type { Container } from '@cdktf/provider-docker/lib/container';
import { Construct, type IConstruct } from 'constructs';
import type { SecondaryNode } from '../lib/model';
import { memberContainer, type MemberHost } from './member';

export interface EtcdSecondaryProps extends MemberHost {
  /** The member as the topology computed it. */
  readonly node: SecondaryNode;
}

/** A stateless member's resources, as `EtcdCluster.secondaries` lists them. */
export interface SecondaryResources extends IConstruct {
  /** The member's container, `<name>-secondary-<j>`. */
  readonly container: Container;
}

/** One secondary. Its only construct ID inside, `container`, is a public contract. */
export class EtcdSecondary extends Construct implements SecondaryResources {
  public readonly container: Container;

  constructor(scope: Construct, id: string, props: EtcdSecondaryProps) {
    super(scope, id);
    this.container = memberContainer(this, props.node, props);
  }
}
