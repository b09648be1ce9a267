/**
 * What follows from a spec before any member is built, decided once per spec: where each member runs and
 * what the secondaries are. The cross-field rules check them and the topology builds on them; nothing
 * computes them again.
 *
 * Validation records every spec it passes with its facts: a validated spec handed on, as `main.ts` hands the
 * loaded spec to `EtcdCluster`, is neither checked nor placed a second time. The spec stays the caller's to
 * change (0.2.0 handed back a plain object, and users' code edits it: `spec.secondaries = 0` before the
 * construct): the record holds the spec's JSON as validated, and a spec that no longer matches it, changed
 * in place, is validated and decided again like any other.
 */
import { placementOf, type Placement } from './placement';
import type { ClusterSpec } from './props';
import { SecondaryKind } from './secondary-kind';

export interface SpecFacts {
  readonly spec: ClusterSpec;
  readonly placement: Placement;
  readonly secondaryKind: SecondaryKind;
}

const validated = new WeakMap<object, { readonly facts: SpecFacts; readonly json: string }>();

/** The facts of a spec whose hosts and placement are consistent (see `rules.ts`); not recorded. */
export function decide(spec: ClusterSpec): SpecFacts {
  return { spec, placement: placementOf(spec), secondaryKind: SecondaryKind.of(spec.secondary) };
}

/** Records a spec that passed every check, with its facts, as it is now. */
export function recordValidated(facts: SpecFacts): ClusterSpec {
  validated.set(facts.spec, { facts, json: JSON.stringify(facts.spec) });
  return facts.spec;
}

/** The facts recorded for this very object, unless it changed since it was validated. */
function recorded(input: unknown): SpecFacts | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const r = validated.get(input);
  return r && JSON.stringify(input) === r.json ? r.facts : undefined;
}

/** Whether this very object came out of validation, unchanged since. */
export function isValidated(input: unknown): input is ClusterSpec {
  return recorded(input) !== undefined;
}

/** The facts of a spec: those recorded when it was validated, else decided now (a spec the caller built or changed). */
export function factsOf(spec: ClusterSpec): SpecFacts {
  return recorded(spec) ?? decide(spec);
}
