/** What every `pki` command works on, from its input: the spec, and `--out` when it names another directory. */
import { resolve } from 'node:path';
import type { Topology } from '../model/topology';
import { InputError } from './errors';

/**
 * The PKI directory and the topology a `pki` command works on: the spec's, its tls.dir or `--out` (relative
 * to the working directory). One line when the spec has neither.
 */
export async function pkiOfSpec(specFile: string | undefined, out: string | undefined, cwd: string): Promise<{ dir: string; topology: Topology }> {
  if (!specFile) throw new InputError('--spec: give the cluster spec (its tls.dir is the PKI directory unless --out names another)');
  const { buildTopology, DEFAULTS, loadSpecFile } = await import('../model');
  // As given when it names the same file from here, so its errors name the spec as the user wrote it.
  const spec = loadSpecFile(resolve(cwd, specFile) === resolve(specFile) ? specFile : resolve(cwd, specFile));
  const dir = out ? resolve(cwd, out) : spec.tls?.dir;
  if (!dir) throw new InputError(`${specFile}: has no tls.dir; add one, or pass --out <dir>`);
  return { dir, topology: buildTopology({ ...spec, tls: { expiryWarningDays: DEFAULTS.expiryWarningDays, ...spec.tls, dir } }) };
}
