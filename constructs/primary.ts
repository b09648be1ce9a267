/** A voting member: its data volume, its container, and the hooks that change etcd's membership around them. */
import { DataResource, type ITerraformDependable, type LocalExecProvisioner } from 'cdktf';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Construct, type IConstruct } from 'constructs';
import { MEMBER_ENV, STAGGER_ENV, type MemberOpMessage } from '../lib/contract';
import { DATA_MOUNT, LABEL_ROLE, type PrimaryNode } from '../lib/model';
import { memberContainer, type MemberHost } from './member';

export interface MembershipProps {
  readonly op: MemberOpMessage;
  /** How to run the CLI, e.g. `npx --no-install etcd-cluster`. */
  readonly command: string;
  readonly timeoutSeconds: number;
  /** Terraform address stem of this member's hooks: `<stem>_join` and `<stem>_member`. */
  readonly addressStem: string;
  /**
   * What must be complete before this member joins: every earlier member's promotion, and every earlier
   * primary's container (one the same deploy replaces must be back before membership changes).
   */
  readonly after: ITerraformDependable[];
}

export interface EtcdPrimaryProps extends MemberHost {
  /** The member as the topology computed it. */
  readonly node: PrimaryNode;
  readonly membership: MembershipProps;
  /**
   * A founder after the first: how its volume's step runs `etcd-cluster member stagger` (the CLI, and the
   * stagger message as JSON, resolved at synth).
   */
  readonly stagger?: {
    readonly command: string;
    readonly message: string;
    /** What the founder before needs to be created (its host's image and network): the wait starts after them. */
    readonly after: ITerraformDependable[];
  };
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

/** A voting member's resources, as `EtcdCluster.primaries` lists them. */
export interface PrimaryResources extends IConstruct {
  /** The member's container, `<name>-primary-<i>`. */
  readonly container: Container;
  /** The data volume. It lives and dies with the member. */
  readonly volume: Volume;
  /** A joining primary's `member add` (as a learner), run before its volume and container are created. */
  readonly join?: DataResource;
  /** The membership record, after the container: for a joiner it promotes the learner once it has caught up. */
  readonly member: DataResource;
  /** With `restore`: the one-shot container that restores the data directory before the member starts. */
  readonly restore?: Container;
}

/**
 * One voting member. Construct IDs inside are a public contract: `data` (the volume), `container`, the
 * hooks `join` (a joiner's `member add`, before its volume and container) and `member` (after the container;
 * a joiner's promotion), and with `restore` the one-shot `restore` container. When the primary is dropped from the spec, the cluster's `removed` block for its
 * `member` address runs `member remove` before the container goes.
 */
export class EtcdPrimary extends Construct implements PrimaryResources {
  public readonly container: Container;
  /** The data volume. It lives and dies with the member. */
  public readonly volume: Volume;
  /** A joining primary's `member add` (as a learner), run before its volume and container are created. */
  public readonly join?: DataResource;
  /** The membership record, after the container: for a joiner it promotes the learner once it has caught up. */
  public readonly member: DataResource;
  /** With `restore`: the one-shot container that restores the data directory before the member starts. */
  public readonly restore?: Container;

  constructor(scope: Construct, id: string, props: EtcdPrimaryProps) {
    super(scope, id);
    const { node, membership: m } = props;
    // A replacement's hooks are replaced with each new generation, so that their provisioners run again.
    const triggersReplace = node.generation > 0 ? { generation: node.generation } : undefined;
    if (node.joins) {
      this.join = new DataResource(this, 'join', {
        input: m.op,
        triggersReplace,
        dependsOn: m.after.length ? m.after : undefined,
        provisioners: [memberProvisioner(m.command, 'add')],
      });
      this.join.overrideLogicalId(`${m.addressStem}_join`);
    }
    // After `member add`, which refuses when a volume of this name is left over from a removed member.
    const labels = Object.entries(node.volumeLabels).map(([label, value]) => ({ label, value }));
    // A founder after the first: the volume, created on the cluster's first deploy only, waits until the
    // founder before it runs, and the container (which needs the volume) starts after it
    // (PrimaryNode.startsAfter). A provisioner holds nothing in the state, so a cluster deployed before it
    // plans no change; `on_failure = continue`: a failed wait must never taint a member's volume.
    const stagger = props.stagger && {
      type: 'local-exec' as const,
      command: `${props.stagger.command} member stagger`,
      environment: { [STAGGER_ENV]: props.stagger.message },
      onFailure: 'continue',
    };
    this.volume = new Volume(this, 'data', {
      provider: props.provider,
      name: node.volume,
      labels,
      // With the stagger, after what the founder before needs: an image pull must not eat into the wait.
      dependsOn: this.join ? [this.join] : props.stagger?.after,
      provisioners: stagger ? [stagger as LocalExecProvisioner] : undefined,
    });
    // A restored member: its data directory is prepared from the snapshot first, by a one-shot container on
    // its volume. Terraform waits for it (attach) and fails the deploy unless it exited 0; etcdutl refuses a
    // data directory that exists, so a restore never overwrites a member's data.
    if (node.restore) {
      const r = node.restore;
      const f = props.files?.(r.upload.source);
      this.restore = new Container(this, 'restore', {
        provider: props.provider,
        name: r.name,
        image: props.image.imageId,
        command: r.command,
        mustRun: false,
        attach: true,
        logs: true,
        labels: Object.entries({ ...node.volumeLabels, [LABEL_ROLE]: 'restore' }).map(([label, value]) => ({ label, value })),
        volumes: [{ volumeName: this.volume.name, containerPath: DATA_MOUNT }],
        upload: [{ file: r.upload.file, source: f?.path ?? r.upload.source, sourceHash: f?.hash, permissions: r.upload.permissions }],
        lifecycle: {
          postcondition: [
            { condition: '${self.exit_code == 0}', errorMessage: `restore: restoring ${node.name} from the snapshot failed: \${self.container_logs}` },
          ],
        },
      });
    }
    const before = [...(this.join ? [this.join] : []), ...(this.restore ? [this.restore] : [])];
    this.container = memberContainer(this, node, props, { volume: this.volume, dependsOn: before.length ? before : undefined });
    this.member = new DataResource(this, 'member', {
      input: m.op,
      triggersReplace,
      dependsOn: [this.container],
      provisioners: node.joins ? [memberProvisioner(m.command, `promote --timeout ${m.timeoutSeconds}`)] : undefined,
    });
    // A fixed address, so that the cluster can name it in a `removed` block once the primary is gone.
    this.member.overrideLogicalId(`${m.addressStem}_member`);
  }
}
