/**
 * Backups and restore in the topology. The backup container (tools/etcd-backup) takes snapshots on a
 * schedule and, unless `defrag.enabled` is false, defragments by etcd's rule; on one host it reaches the
 * primaries by their shared discovery name, so that changing primaries or secondaries leaves it alone. A restore prepares each primary's data directory from a snapshot with
 * etcd's own `etcdutl snapshot restore`, in a one-shot container Terraform runs before the member starts.
 */
import { createHash } from 'node:crypto';
import { CA_CERT, certFile, CLIENT_NAME, IN_CONTAINER, keyFile } from '../pki';
import { readSnapshot, SnapshotError } from '../snapshot';
import { SpecError } from '../messages';
import { labelsOf, tlsFile, type ClusterContext } from './context';
import { DEFAULTS } from '../defaults';
import {
  CLIENT_PORT,
  DATA_DIR,
  STOP_GRACE_SECONDS,
  type BackupNode,
  type HostBind,
  type PrimaryNode,
  type RestoreStep,
  type SpaceRule,
  type Upload,
} from './types';

/** Where snapshots are inside the backup container, and where a restore finds its snapshot. */
export const BACKUP_DIR = '/backups';
export const RESTORE_FILE = '/restore/snapshot.db';
export const ETCDUTL_BIN = '/usr/local/bin/etcdutl';

/**
 * The quota and etcd's defragmentation rule, and how often the backup container applies it: on wherever
 * the backup container runs, unless `defrag.enabled` is false (the rules refuse `defrag` without backup).
 */
export function spaceOf(ctx: ClusterContext): SpaceRule & { defragEvery: string | null } {
  const d = ctx.spec.defrag;
  return {
    quotaBytes: ctx.spec.etcd.quotaBackendBytes,
    quotaPercent: d?.quotaPercent ?? DEFAULTS.defragQuotaPercent,
    reclaimableBytes: (d?.reclaimableMiB ?? DEFAULTS.defragReclaimableMiB) * 1024 ** 2,
    defragEvery: ctx.spec.backup && d?.enabled !== false ? (d?.every ?? DEFAULTS.defragEvery) : null,
  };
}

export function backupOf(ctx: ClusterContext, primaries: PrimaryNode[]): BackupNode | undefined {
  const b = ctx.spec.backup;
  if (!b) return undefined;
  const space = spaceOf(ctx);
  // On one host the shared name of the primaries, which does not change with them; across hosts (a Docker
  // network per host) every primary's address.
  const endpoints = ctx.spec.hosts ? primaries.map((p) => p.clientUrl).join(',') : `${ctx.scheme}://${ctx.discovery.primaries}:${CLIENT_PORT}`;
  const uploads: Upload[] = ctx.tlsDir
    ? [
        { file: IN_CONTAINER.ca, source: tlsFile(ctx, CA_CERT), permissions: '0644' },
        // The verifier's client certificate: the backup container is a client of the cluster like it.
        { file: IN_CONTAINER.cert, source: tlsFile(ctx, certFile(CLIENT_NAME)), permissions: '0644' },
        { file: IN_CONTAINER.key, source: tlsFile(ctx, keyFile(CLIENT_NAME)), permissions: '0600' },
      ]
    : [];
  const store = storeOf(ctx);
  return {
    name: `${ctx.name}-backup`,
    image: b.image,
    command: [
      'run',
      `--endpoints=${endpoints}`,
      `--dir=${BACKUP_DIR}`,
      `--every=${b.every}`,
      `--keep=${b.keep}`,
      ...(ctx.tlsDir ? [`--cacert=${IN_CONTAINER.ca}`, `--cert=${IN_CONTAINER.cert}`, `--key=${IN_CONTAINER.key}`] : []),
      ...(space.defragEvery
        ? [
            `--defrag-every=${space.defragEvery}`,
            `--quota-bytes=${space.quotaBytes}`,
            `--defrag-quota-percent=${space.quotaPercent}`,
            `--defrag-reclaimable-bytes=${space.reclaimableBytes}`,
          ]
        : []),
      ...(store ? [...store.args, `--delta-every=${b.store!.deltaEvery}`] : []),
    ],
    ...(b.hostPath ? { hostPath: b.hostPath } : { volume: `${ctx.name}-backups` }),
    ...(primaries[0].host ? { host: primaries[0].host } : {}),
    aliases: [`${ctx.name}-backup`],
    labels: labelsOf(ctx, 'backup'),
    volumeLabels: labelsOf(ctx, 'backup'),
    uploads,
    stopGraceSeconds: STOP_GRACE_SECONDS,
    binds: store?.binds ?? [],
    ...(store ? { store: { args: store.args, maxBehind: b.store!.maxBehind } } : {}),
  };
}

/** Where the store's credentials and CA are inside the backup container (and a one-off of its image). */
export const STORE_CREDENTIALS = '/store/credentials';
export const STORE_CA = '/store/ca.pem';

/**
 * The store's flags and the host files they need. The credentials are a file on the Docker host, mounted
 * read-only: Terraform sees its path, never its content, so no plan or state holds a secret.
 */
function storeOf(ctx: ClusterContext): { args: string[]; binds: HostBind[] } | undefined {
  const s = ctx.spec.backup?.store;
  if (!s) return undefined;
  return {
    args: [
      `--store-endpoint=${s.endpoint.replace(/\/$/, '')}`,
      `--store-bucket=${s.bucket}`,
      `--store-prefix=${s.prefix ?? ctx.name}`,
      `--store-region=${s.region}`,
      `--store-path-style=${s.pathStyle}`,
      `--store-credentials=${STORE_CREDENTIALS}`,
      ...(s.caFile ? [`--store-ca=${STORE_CA}`] : []),
      `--cluster=${ctx.name}`,
    ],
    binds: [{ hostPath: s.credentialsFile, containerPath: STORE_CREDENTIALS }, ...(s.caFile ? [{ hostPath: s.caFile, containerPath: STORE_CA }] : [])],
  };
}

/** The snapshot of a restore, read at synthesis: it must be one, and its revision is what the cluster will serve at least. */
export function restoreOf(ctx: ClusterContext): { snapshot: string; revision: number; hashed: boolean; bytes: number; bumpRevision: number } | undefined {
  const r = ctx.spec.restore;
  if (!r) return undefined;
  try {
    const info = readSnapshot(r.snapshot);
    return { snapshot: r.snapshot, revision: info.revision, hashed: info.hashed, bytes: info.bytes, bumpRevision: r.bumpRevision ?? 0 };
  } catch (e) {
    if (e instanceof SnapshotError) throw new SpecError(`restore.snapshot: ${e.message}`);
    throw e;
  }
}

/**
 * The step that restores primary p's data directory. A restored cluster gets a token of its own (from the
 * snapshot's revision and the cluster), so that its cluster ID differs from the one the snapshot came from.
 * `etcdutl` refuses a data directory that exists already: restoring over a member's data fails the deploy.
 */
export function restoreStepOf(
  ctx: ClusterContext,
  p: { name: string; peerUrl: string },
  initialCluster: string,
  snap: { snapshot: string; revision: number; hashed: boolean; bytes: number; bumpRevision: number },
): RestoreStep {
  const token = `${ctx.token}-restored-${createHash('sha256').update(`${ctx.name}:${snap.revision}:${snap.bytes}`).digest('hex').slice(0, 8)}`;
  return {
    name: `${p.name}-restore`,
    command: [
      ETCDUTL_BIN,
      'snapshot',
      'restore',
      RESTORE_FILE,
      `--name=${p.name}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      `--initial-advertise-peer-urls=${p.peerUrl}`,
      `--data-dir=${DATA_DIR}`,
      // A snapshot without etcd's appended hash (a database file copied by hand) cannot be checked.
      ...(snap.hashed ? [] : ['--skip-hash-check']),
      // Revisions continue above anything the old cluster served after the snapshot; etcd requires both.
      ...(snap.bumpRevision ? [`--bump-revision=${snap.bumpRevision}`, '--mark-compacted'] : []),
    ],
    upload: { file: RESTORE_FILE, source: snap.snapshot, permissions: '0644' },
  };
}
