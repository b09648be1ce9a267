import { DataResource, type ITerraformDependable, type TerraformProvider } from 'cdktf';
import { Container } from '@cdktf/provider-docker/lib/container';
import type { Image } from '@cdktf/provider-docker/lib/image';
import type { Network } from '@cdktf/provider-docker/lib/network';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Construct } from 'constructs';
import { MEMBER_ENV } from '../lib/membership';
import { DATA_MOUNT, type MemberOp, type PrimaryNode, type SecondaryNode } from '../lib/topology';

export interface EtcdNodeProps {
  /** The member as the topology computed it. */
  readonly node: PrimaryNode | SecondaryNode;
  readonly image: Image;
  readonly network: Network;
  /** The provider of the node's Docker host; undefined: the stack's default provider. */
  readonly provider?: TerraformProvider;
  /** Content hash of each upload source, by path: a changed file replaces the container. */
  readonly sourceHashes?: Record<string, string>;
  /** For a primary: the hooks that change etcd membership around its container. */
  readonly membership?: MembershipProps;
}

export interface MembershipProps {
  readonly op: MemberOp;
  /** How to run the CLI, e.g. `npx --no-install etcd-cluster`. */
  readonly command: string;
  readonly timeoutSeconds: number;
  /** Terraform address stem of this member's hooks: `<stem>_join` and `<stem>_member`. */
  readonly addressStem: string;
  /**
   * What must be complete before this member joins: the previous member's promotion, and every earlier
   * primary's container (one the same deploy replaces must be back before membership changes).
   */
  readonly after: ITerraformDependable[];
}


/** The provisioner that runs `etcd-cluster member <verb>` for the member in the hook's input. */
export function memberProvisioner(command: string, verb: string, when?: 'destroy') {
  return {
    type: 'local-exec' as const,
    command: `${command} member ${verb}`,
    environment: { [MEMBER_ENV]: '${jsonencode(self.input)}' },
    ...(when ? { when } : {}),
  };
}

/**
 * One member of the cluster: its container and, for a primary, its data volume.
 * Construct IDs inside are a public contract: `container` and `data` (a primary's volume).
 */
export class EtcdNode extends Construct {
  public readonly container: Container;
  /** The data volume; only primaries have one. It lives and dies with the member. */
  public readonly volume?: Volume;
  /** A joining primary's `member add` (as a learner), run before its container is created. */
  public readonly join?: DataResource;
  /**
   * A primary's membership record, after its container: for a joiner it promotes the learner once it has
   * caught up. When the primary is dropped from the spec, the cluster's `removed` block for this address
   * runs `member remove` before the container goes.
   */
  public readonly member?: DataResource;

  constructor(scope: Construct, id: string, props: EtcdNodeProps) {
    super(scope, id);
    const { node } = props;
    const labels = Object.entries(node.labels).map(([label, value]) => ({ label, value }));
    const env = Object.entries(node.env).map(([k, v]) => `${k}=${v}`);

    const m = props.membership;
    // A replacement's hooks are replaced with each new generation, so that their provisioners run again.
    const generation = node.role === 'primary' && node.generation > 0 ? node.generation : undefined;
    if (m && node.role === 'primary' && node.joins) {
      this.join = new DataResource(this, 'join', {
        input: m.op,
        triggersReplace: generation === undefined ? undefined : { generation },
        dependsOn: m.after.length ? m.after : undefined,
        provisioners: [memberProvisioner(m.command, 'add')],
      });
      this.join.overrideLogicalId(`${m.addressStem}_join`);
    }
    if (node.role === 'primary') {
      // After `member add`, which refuses when a volume of this name is left over from a removed member.
      this.volume = new Volume(this, 'data', { provider: props.provider, name: node.volume, labels, dependsOn: this.join ? [this.join] : undefined });
    }

    const ports = [node.port, ...(node.role === 'primary' && node.peerPort ? [node.peerPort] : [])];
    this.container = new Container(this, 'container', {
      provider: props.provider,
      name: node.name,
      hostname: node.name,
      image: props.image.imageId,
      command: node.command,
      env: env.length ? env : undefined,
      restart: 'unless-stopped',
      // Stop with SIGTERM and give etcd time to leave cleanly before Docker kills it; the provider's
      // default (0) kills at once.
      destroyGraceSeconds: node.stopGraceSeconds,
      labels,
      // The network's ID, not its name: a replaced network then replaces the containers on it (its name is
      // known at plan time and would not), instead of failing to delete a network with active endpoints.
      networksAdvanced: [{ name: props.network.id, aliases: [node.name] }],
      // An explicit ip keeps Docker from adding an IPv6 binding that the provider would diff forever.
      ports: ports.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip, protocol: 'tcp' })),
      volumes: this.volume ? [{ volumeName: this.volume.name, containerPath: DATA_MOUNT }] : undefined,
      healthcheck: node.healthcheck && { ...node.healthcheck },
      // `source`, not `content`: private keys stay out of the Terraform state and plan output.
      upload: node.uploads.length
        ? node.uploads.map((u) => ({ file: u.file, source: u.source, sourceHash: props.sourceHashes?.[u.source], permissions: u.permissions }))
        : undefined,
      dependsOn: this.join ? [this.join] : undefined,
    });

    if (m && node.role === 'primary') {
      this.member = new DataResource(this, 'member', {
        input: m.op,
        triggersReplace: generation === undefined ? undefined : { generation },
        dependsOn: [this.container],
        provisioners: node.joins ? [memberProvisioner(m.command, `promote --timeout ${m.timeoutSeconds}`)] : undefined,
      });
      // A fixed address, so that the cluster can name it in a `removed` block once the primary is gone.
      this.member.overrideLogicalId(`${m.addressStem}_member`);
    }
  }
}
