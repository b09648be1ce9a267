/**
 * The stack release 0.2.0 (commit dd6a122, contract version 1) synthesizes for a 3+2 cluster, as users have
 * it deployed now: test/fixtures/stack-v0.2.0-3+2.tf.json with its name, ports and image filled in.
 *
 * Why a committed fixture rather than a synth of that commit at test time: it needs no git history (CI may
 * run on a shallow clone) and no second `npm ci`, it stays what 0.2.0 wrote whatever the dependencies
 * become, and a reviewer can read it. It was made at dd6a122 with test/helpers/synth.ts's synthStack for a
 * cluster named `upgfixa` (the placeholders replaced that name, its ports and its image), and checked there
 * to give that commit's synth back, object for object, for another name, other ports and another image.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TfJson } from './synth';

export const V020_STACK_FIXTURE = join(__dirname, '..', 'fixtures', 'stack-v0.2.0-3+2.tf.json');

export interface FixtureValues {
  readonly name: string;
  readonly image: string;
  readonly primaryBase: number;
  readonly secondaryBase: number;
}

/** The 0.2.0 stack of a 3+2 cluster with this name, image and ports (primary i on primaryBase + i - 1). */
export function v020Stack(v: FixtureValues): TfJson {
  const port = (kind: string, k: string) => String((kind === 'PRIMARY' ? v.primaryBase : v.secondaryBase) + Number(k) - 1);
  const text = readFileSync(V020_STACK_FIXTURE, 'utf8')
    .replace(/"@(PRIMARY|SECONDARY)_PORT_(\d)@"/g, (_m, kind: string, k: string) => port(kind, k))
    .replace(/@(PRIMARY|SECONDARY)_PORT_(\d)@/g, (_m, kind: string, k: string) => port(kind, k))
    .replaceAll('@NAME@', v.name)
    .replaceAll('@IMAGE@', v.image);
  return JSON.parse(text) as TfJson;
}
