/** The backup container of a cluster (spec `backup`): snapshots on a schedule into a volume of its own. */
import type { TerraformProvider } from 'cdktf';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Construct, type IConstruct } from 'constructs';
import { BACKUP_DIR, type BackupNode } from '../lib/model';
import type { FileRef } from './member';
import type { EtcdNetwork } from './network';

export interface EtcdBackupProps {
  readonly node: BackupNode;
  readonly network: EtcdNetwork;
  readonly provider?: TerraformProvider;
  readonly files?: FileRef;
}

/** The backup container's resources, as `EtcdCluster.backup` holds them. */
export interface BackupResources extends IConstruct {
  /** The container that takes the snapshots, `<name>-backup`. */
  readonly container: Container;
  /** The snapshots' volume, `<name>-backups` (none with `backup.hostPath`). */
  readonly volume?: Volume;
}

const labelList = (labels: Record<string, string>) => Object.entries(labels).map(([label, value]) => ({ label, value }));

/**
 * Construct IDs inside are a public contract: `image`, `data` (the snapshots' volume, unless a host path
 * is used) and `container`. The container is stateless apart from that volume; it depends on no member, so
 * that scaling secondaries or changing primaries leaves it alone.
 */
export class EtcdBackup extends Construct implements BackupResources {
  public readonly container: Container;
  public readonly volume?: Volume;

  constructor(scope: Construct, id: string, props: EtcdBackupProps) {
    super(scope, id);
    const { node, provider } = props;
    const image = new Image(this, 'image', { provider, name: node.image, keepLocally: true });
    if (node.volume) this.volume = new Volume(this, 'data', { provider, name: node.volume, labels: labelList(node.volumeLabels) });
    this.container = new Container(this, 'container', {
      provider,
      name: node.name,
      hostname: node.name,
      image: image.imageId,
      command: node.command,
      restart: 'unless-stopped',
      destroyGraceSeconds: node.stopGraceSeconds,
      labels: labelList(node.labels),
      networksAdvanced: [{ name: props.network.id, aliases: node.aliases }],
      lifecycle: props.network.containerLifecycle,
      volumes: [
        this.volume ? { volumeName: this.volume.name, containerPath: BACKUP_DIR } : { hostPath: node.hostPath!, containerPath: BACKUP_DIR },
        // The store's credentials and CA: files of the Docker host, read-only; Terraform holds their paths only.
        ...node.binds.map((b) => ({ hostPath: b.hostPath, containerPath: b.containerPath, readOnly: true })),
      ],
      upload: node.uploads.length
        ? node.uploads.map((u) => {
            const f = props.files?.(u.source);
            return { file: u.file, source: f?.path ?? u.source, sourceHash: f?.hash, permissions: u.permissions };
          })
        : undefined,
    });
  }
}
