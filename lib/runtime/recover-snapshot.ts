/**
 * A recovery with no survivor: the snapshot it restores, a file the user named, the newest point of the
 * backup store (`backup.store`: the newest full snapshot and the deltas after it), or the newest of the
 * backup container (copied or fetched next to the spec, checked as a snapshot before it is kept).
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
  const where = opts.specFile ? dirname(resolve(opts.specFile)) : process.cwd();
  if (e.backup.store) {
    try {
      const { listStore } = await import('./store');
      const newest = (await listStore(e)).lineages.pop();
      if (newest?.full.length) {
        return {
          file: join(where, `recovered-${e.target.cluster}-store-rev${newest.newest}.db`),
          revision: newest.newest,
          source: `${STORE_SOURCE}${newest.clusterId}@${newest.newest}`,
        };
      }
      opts.say("the backup store holds no full snapshot yet: looking for the backup container's own");
    } catch (err) {
      opts.say(`no point from the backup store: ${(err as Error).message}`);
    }
  }
  try {
    const { listBackups } = await import('./snapshot');
    const list = await listBackups(e);
    const newest = [...list].sort((a, b) => (a.taken < b.taken ? -1 : 1)).pop();
    if (!newest) return undefined;
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

/** A source in the store: `store:<cluster ID>@<revision>`. */
const STORE_SOURCE = 'store:';

export async function copyBackup(e: Expectation, source: string, file: string): Promise<void> {
  if (source.startsWith(STORE_SOURCE)) {
    const [clusterId, revision] = source.slice(STORE_SOURCE.length).split('@');
    const { fetchPoint } = await import('./store');
    await fetchPoint(e, file, { clusterId, revision: Number(revision), force: true });
    return;
  }
  const docker = new DockerEngine(e.backup!.docker);
  const path = source.slice(source.indexOf(':') + 1);
  const data = untarFirst(await docker.archive(e.backup!.container, path));
  const tmp = `${file}.part`;
  writeFileSync(tmp, data);
  readSnapshot(tmp);
  copyFileSync(tmp, file);
  rmSync(tmp, { force: true });
}
