/**
 * Files a command keeps in a stack directory while it changes a cluster step by step: written whole or not
 * at all, and a lock so that one process at a time does it; and files that change together (the
 * certificates and keys of a PKI directory): all written under temporary names, then renamed into place.
 */
import { closeSync, existsSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Writes a file whole or not at all (a temporary file renamed over it): never half-written when stopped. */
export function writeAtomically(file: string, text: string): void {
  const target = existsSync(file) ? realpathSync(file) : file;
  const tmp = `${target}.etcd-cluster-recover.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, target);
}

/**
 * Files to write into a directory together: all under temporary names first, then renamed into place, so
 * that a failure while writing leaves the directory as it was. `add` gives each its mode (0600 for a key).
 */
export class PendingFiles {
  private readonly files: { name: string; content: string; mode: number }[] = [];
  constructor(private readonly dir: string) {}
  add(name: string, content: string, mode = 0o644): void {
    this.files.push({ name, content, mode });
  }
  commit(): string[] {
    const tmp = (name: string) => join(this.dir, `.${name}.${process.pid}.tmp`);
    try {
      for (const f of this.files) writeFileSync(tmp(f.name), f.content, { mode: f.mode });
    } catch (e) {
      for (const f of this.files) rmSync(tmp(f.name), { force: true });
      throw e;
    }
    for (const f of this.files) renameSync(tmp(f.name), join(this.dir, f.name));
    return this.files.map((f) => f.name);
  }
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
