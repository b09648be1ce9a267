/**
 * What follows from a spec before any member is built, decided once per spec: where each member runs and
 * what the secondaries are. The cross-field rules check them and the topology builds on them; nothing
 * computes them again.
 *
 * Validation records every spec it passes (frozen, so that it cannot change afterwards) with its facts: a
 * validated spec handed on, as `main.ts` hands the loaded spec to `EtcdCluster`, is neither checked nor
 * placed a second time.
 */
import { placementOf, type Placement } from './placement';
import type { ClusterSpec } from './props';
import { SecondaryKind } from './secondary-kind';

export interface SpecFacts {
  readonly spec: ClusterSpec;
  readonly placement: Placement;
  readonly secondaryKind: SecondaryKind;
}

const validated = new WeakMap<object, SpecFacts>();

/** The facts of a spec whose hosts and placement are consistent (see `rules.ts`); not recorded. */
export function decide(spec: ClusterSpec): SpecFacts {
  return { spec, placement: placementOf(spec), secondaryKind: SecondaryKind.of(spec.secondary) };
}

/** Records a spec that passed every check, frozen, with its facts. */
export function recordValidated(facts: SpecFacts): ClusterSpec {
  validated.set(deepFreeze(facts.spec), facts);
  return facts.spec;
}

/** Whether this very object came out of validation. */
export function isValidated(input: unknown): input is ClusterSpec {
  return typeof input === 'object' && input !== null && validated.has(input);
}

/** The facts of a spec: those recorded when it was validated, else decided now (a spec the caller built). */
export function factsOf(spec: ClusterSpec): SpecFacts {
  return validated.get(spec) ?? decide(spec);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
