/** Reading a spec file: YAML or JSON text to a validated spec, with one-line errors. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as YAML from 'yaml';
import { SpecError } from './messages';
import type { ClusterSpec } from './props';
import { validate } from './validate';

/** Where `main.ts` (and the CLI, given no flags) looks for the spec unless `ETCD_CLUSTER_CONFIG` names another file. */
export const DEFAULT_SPEC_FILE = 'cluster.yaml';
/** The environment variable that names the spec file. */
export const SPEC_FILE_ENV = 'ETCD_CLUSTER_CONFIG';

/** Spec text as data: JSON when the file name ends in .json, YAML otherwise. */
function parseText(text: string, source: string): unknown {
  if (source.endsWith('.json')) {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new SpecError(`${source}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    // The first line holds the reason and the position; the rest is a code excerpt.
    throw new SpecError(`${source}: not valid YAML: ${doc.errors[0].message.split('\n')[0].replace(/:\s*$/, '')}`);
  }
  return doc.toJS();
}

/** Parses and validates spec text: JSON when the file name ends in .json, YAML otherwise. Paths stay as written. */
export function parseSpecText(text: string, source: string): ClusterSpec {
  return validate(parseText(text, source), { source });
}

/** Reads and validates a spec file. Its paths (tls.dir, restore.snapshot) are relative to the file, wherever it is read from. */
export function loadSpecFile(path: string): ClusterSpec {
  if (!existsSync(path)) {
    throw new SpecError(`${path}: spec file not found (set ${SPEC_FILE_ENV} to use another file)`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError(`${path}: cannot read the spec file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return validate(parseText(text, path), { source: path, relativeTo: dirname(path) });
}

/** The spec file `main.ts` reads: `ETCD_CLUSTER_CONFIG`, else `cluster.yaml`. */
export function specPathFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env[SPEC_FILE_ENV] || DEFAULT_SPEC_FILE;
}
