/**
 * Snapshots and backups: a consistent snapshot streamed from a member (etcd's Maintenance.Snapshot, the
 * database and its SHA-256, as `etcdctl snapshot save` writes it), written atomically; and the list of
 * snapshots the backup container has taken.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Expectation } from '../contract';
import { readSnapshot } from '../model/snapshot';
import { execIn } from './docker';
import { ClusterUnreachable, DockerHostError, InvalidRequest, TargetExists } from './errors';
import { ClusterSession, type SessionOptions } from './session';

export interface SavedSnapshot {
  readonly file: string;
  readonly member: string;
  readonly revision: number;
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Streams a snapshot from a primary that answers (the leader when it knows one) into `file`, through a
 * temporary file in the same directory that is renamed once complete: the target is whole or absent.
 */
export async function saveSnapshot(
  e: Expectation,
  file: string,
  opts: SessionOptions & { force?: boolean; onProgress?: (bytes: number) => void },
): Promise<SavedSnapshot> {
  if (existsSync(file) && !opts.force) throw new TargetExists(`${file} exists already; choose another file, or pass --force to replace it`);
  const s = new ClusterSession(e.target, { ...opts, callTimeoutMs: opts.callTimeoutMs ?? 5000 });
  try {
    // The source: a primary that answers, the leader first.
    let source;
    try {
      source = (await s.anyPrimary({ leaderFirst: true })).primary;
    } catch (err) {
      if (!(err instanceof ClusterUnreachable)) throw err;
      throw new ClusterUnreachable(`no member of ${e.target.cluster} answers, so no snapshot can be taken (${err.details ?? err.message})`);
    }
    const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.part`);
    const c = s.client(source.endpoint, { timeoutMs: 600_000 });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      let bytes = 0;
      const stream = await c.maintenance.snapshot();
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: { blob: Buffer }) => {
          writeSync(fd, chunk.blob);
          bytes += chunk.blob.length;
          opts.onProgress?.(bytes);
        });
        stream.on('end', () => resolve());
        stream.on('error', (err: unknown) => reject(err));
      });
      fsyncSync(fd);
      closeSync(fd);
      const info = readSnapshot(tmp, { sha256: true });
      renameSync(tmp, file);
      return { file, member: source.name, revision: info.revision, bytes: info.bytes, sha256: info.sha256! };
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      rmSync(tmp, { force: true });
    }
  } finally {
    s.close();
  }
}

export interface BackupEntry {
  readonly file: string;
  readonly bytes: number;
  readonly taken: string;
  readonly revision: number;
}

/** What the backup container has taken, oldest first. */
export async function listBackups(e: Expectation): Promise<BackupEntry[]> {
  if (!e.backup) throw new InvalidRequest(`cluster ${e.target.cluster} has no backup container (add backup to its spec)`);
  const r = await execIn(e.backup.container, ['/usr/local/bin/etcd-backup', 'list', '--dir=/backups'], e.backup.docker);
  if (r.exitCode !== 0) throw new DockerHostError(`${e.backup.container}: etcd-backup list failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  return JSON.parse(r.stdout) as BackupEntry[];
}
