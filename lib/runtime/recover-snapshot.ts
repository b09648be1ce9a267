/**
 * A recovery with no survivor: the snapshot it restores, a file the user named or the newest of the backup
 * container (copied next to the spec, checked as a snapshot before it is kept).
 */
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Expectation } from '../contract';
import { readSnapshot } from '../model/snapshot';
import { DockerEngine } from './docker';
import { untarFirst } from './member-data';

/** A snapshot for a cluster with no survivor: the file given, or the newest of the backup container. */
export async function findSnapshot(
  e: Expectation,
  opts: { snapshot?: string; specFile?: string; say: (line: string) => void },
): Promise<{ file: string; revision: number; source: string } | undefined> {
  if (opts.snapshot) {
    const file = resolve(opts.snapshot);
    return { file, revision: readSnapshot(file).revision, source: file };
  }
  if (!e.backup) return undefined;
  try {
    const { listBackups } = await import('./snapshot');
    const list = await listBackups(e);
    const newest = [...list].sort((a, b) => (a.taken < b.taken ? -1 : 1)).pop();
    if (!newest) return undefined;
    const where = opts.specFile ? dirname(resolve(opts.specFile)) : process.cwd();
    return {
      file: join(where, `recovered-${e.target.cluster}-${newest.file}`),
      revision: newest.revision,
      source: `${e.backup.container}:/backups/${newest.file}`,
    };
  } catch (err) {
    opts.say(`no snapshot from the backup container: ${(err as Error).message}`);
    return undefined;
  }
}

export async function copyBackup(e: Expectation, source: string, file: string): Promise<void> {
  const docker = new DockerEngine(e.backup!.docker);
  const path = source.slice(source.indexOf(':') + 1);
  const data = untarFirst(await docker.archive(e.backup!.container, path));
  const tmp = `${file}.part`;
  writeFileSync(tmp, data);
  readSnapshot(tmp);
  copyFileSync(tmp, file);
  rmSync(tmp, { force: true });
}
