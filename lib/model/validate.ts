/**
 * Validation, the one entry point: the schema (each field), then the cross-field rules, with every problem
 * turned into a `SpecError` whose message is one line naming the field and the value received. A spec that
 * passes is recorded with its facts (`facts.ts`); handed in again unchanged, it is returned as it is.
 */
import { resolve } from 'node:path';
import { decide, isValidated, recordValidated } from './facts';
import { describeValue, formatIssue, SpecError } from './messages';
import type { ClusterSpec } from './props';
import { AFTER_PLACEMENT, BEFORE_PLACEMENT, firstProblem } from './rules';
import { specSchema } from './schema';

export interface ValidateOptions {
  /** Prefixes every message, e.g. the file name. */
  readonly source?: string;
  /** The directory the spec's relative paths (`tls.dir`, `restore.snapshot`) are relative to; unset: left as given. */
  readonly relativeTo?: string;
}

/** Validates a spec given as plain data (props, or a parsed file). */
export function validate(input: unknown, opts: ValidateOptions = {}): ClusterSpec {
  if (isValidated(input)) return input;
  const prefix = opts.source ? `${opts.source}: ` : '';
  if (input === null || input === undefined) {
    throw new SpecError(`${prefix}the spec is empty; expected a mapping with at least "name"`);
  }
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new SpecError(`${prefix}the spec must be a mapping of keys to values (got ${describeValue(input)})`);
  }
  const result = specSchema.safeParse(input);
  if (!result.success) {
    const [first, ...rest] = result.error.issues;
    const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
    throw new SpecError(`${prefix}${formatIssue(first, input, specSchema)}${more}`);
  }
  const spec = withPathsFrom(result.data, opts.relativeTo);
  const shape = firstProblem(BEFORE_PLACEMENT, spec);
  if (shape) throw new SpecError(`${prefix}${shape}`);
  const facts = decide(spec);
  const problem = firstProblem(AFTER_PLACEMENT, facts);
  if (problem) throw new SpecError(`${prefix}${problem}`);
  return recordValidated(facts);
}

/**
 * Validates a spec given as plain data (construct props, or a parsed file).
 * @param source - prefixes the message, e.g. the file name.
 */
export function validateSpec(input: unknown, source?: string): ClusterSpec {
  return validate(input, { source });
}

/** The spec with its relative paths resolved against a directory. */
function withPathsFrom<S extends ClusterSpec>(spec: S, dir: string | undefined): S {
  if (dir === undefined) return spec;
  const near = (p: string) => resolve(dir, p);
  return {
    ...spec,
    ...(spec.tls ? { tls: { ...spec.tls, dir: near(spec.tls.dir) } } : {}),
    ...(spec.restore ? { restore: { ...spec.restore, snapshot: near(spec.restore.snapshot) } } : {}),
  };
}
