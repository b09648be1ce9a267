/**
 * Files a command keeps in a stack directory while it changes a cluster step by step: written whole or not
 * at all, and a lock so that one process at a time does it.
 */
import { closeSync, existsSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';

/** Writes a file whole or not at all (a temporary file renamed over it): never half-written when stopped. */
export function writeAtomically(file: string, text: string): void {
  const target = existsSync(file) ? realpathSync(file) : file;
  const tmp = `${target}.etcd-cluster-recover.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, target);
}

/**
 * One holder at a time: a lock file with the process ID, taken over when that process is gone. Returns its
 * release; `refused` words the error when a live process holds it (given its ID), or when it cannot be taken.
 */
export function takeLock(file: string, refused: (holder?: number) => Error): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8').trim());
      let alive = false;
      try {
        if (pid > 0) process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (alive) throw refused(pid);
      rmSync(file, { force: true });
    }
  }
  throw refused();
}
