/**
 * What `etcd-cluster recover` writes into a spec. From a survivor: every other primary gets its next
 * replacement generation (a new member on a fresh volume) and the recovery is recorded (`recoveries`), so
 * that each rejoiner's `--initial-cluster` names the members it finds when it joins. From a snapshot (no
 * survivor): `restore` names the snapshot with a revision bump, and the primaries become founders again.
 * The spec file is edited in place with the yaml package's Document API: comments, order and formatting of
 * everything else stay as the user wrote them.
 */
import * as YAML from 'yaml';
import { flagName, ONE_OFF_DROPPED } from './flags';
import type { ClusterSpec } from './props';

/** How far a recovery from a snapshot raises the revision: above anything the old cluster can have served since. */
export const RECOVERY_BUMP_REVISION = 1_000_000_000;

export type SpecChanges =
  | {
      readonly kind: 'survivor';
      /** The primary number the cluster is rebuilt from. */
      readonly from: number;
      /** The whole `replace` map after the recovery. */
      readonly replace: Record<string, number>;
      /** The record appended to `recoveries`. */
      readonly recovery: { from: number; rejoined: Record<string, number> };
    }
  | {
      readonly kind: 'snapshot';
      /** `restore` after the recovery (the snapshot relative to the spec file). */
      readonly restore: { snapshot: string; bumpRevision: number };
    };

/** The changes for rebuilding the cluster from primary `from`: every other declared primary rejoins. */
export function survivorChanges(spec: Pick<ClusterSpec, 'primaries' | 'replace'>, from: number): SpecChanges {
  const replace: Record<string, number> = { ...spec.replace };
  const rejoined: Record<string, number> = {};
  for (let i = 1; i <= spec.primaries; i++) {
    if (i === from) continue;
    replace[String(i)] = (spec.replace[String(i)] ?? 0) + 1;
    rejoined[String(i)] = replace[String(i)];
  }
  return { kind: 'survivor', from, replace: sortKeys(replace), recovery: { from, rejoined } };
}

export function snapshotChanges(snapshot: string, bumpRevision = RECOVERY_BUMP_REVISION): SpecChanges {
  return { kind: 'snapshot', restore: { snapshot, bumpRevision } };
}

const sortKeys = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => Number(a) - Number(b)));

/**
 * The spec text with the changes applied. A snapshot recovery makes every primary a founder again: it drops
 * `replace`, `recoveries` and `initialPrimaries` (a restored cluster has no joiners).
 */
export function editSpecText(text: string, file: string, changes: SpecChanges): string {
  if (file.endsWith('.json')) {
    const data = (text.trim() ? JSON.parse(text) : {}) as Record<string, unknown>;
    apply(data, changes);
    return JSON.stringify(data, null, 2) + '\n';
  }
  const doc = YAML.parseDocument(text);
  if (changes.kind === 'survivor') {
    // Keys of `replace` may be written as numbers (2: 1) or strings ('2': 1): find the one there is.
    if (!YAML.isMap(doc.get('replace'))) doc.set('replace', doc.createNode({}));
    const m = doc.get('replace') as YAML.YAMLMap;
    const keyOf = (p: YAML.Pair) => String(YAML.isScalar(p.key) ? p.key.value : p.key);
    for (const [key, generation] of Object.entries(changes.replace)) {
      const pair = m.items.find((p) => keyOf(p) === key);
      // The scalar itself changes, so that a comment on it stays.
      if (pair && YAML.isScalar(pair.value)) pair.value.value = generation;
      else if (pair) pair.value = doc.createNode(generation);
      else m.items.push(doc.createPair(Number(key), generation) as YAML.Pair);
    }
    m.items.sort((a, b) => Number(keyOf(a)) - Number(keyOf(b)));
    const list = doc.get('recoveries');
    const record = doc.createNode({ from: changes.recovery.from, rejoined: numericKeys(changes.recovery.rejoined) });
    if (YAML.isSeq(list)) list.add(record);
    else {
      const pair = doc.createPair('recoveries', [record]);
      (pair.key as YAML.Scalar).commentBefore = ' written by etcd-cluster recover: keep the entries (README, "When quorum is lost")';
      (doc.contents as YAML.YAMLMap).add(pair);
    }
  } else {
    for (const key of ['replace', 'recoveries', 'initialPrimaries']) doc.delete(key);
    doc.set('restore', doc.createNode(changes.restore));
  }
  return doc.toString();
}

/** `{ "2": 1 }` as a YAML map with number keys, as people write `replace`. */
const numericKeys = (r: Record<string, number>) => new Map(Object.entries(r).map(([k, v]) => [Number(k), v]));

function apply(data: Record<string, unknown>, changes: SpecChanges): void {
  if (changes.kind === 'survivor') {
    data.replace = changes.replace;
    data.recoveries = [...((data.recoveries as unknown[]) ?? []), changes.recovery];
  } else {
    delete data.replace;
    delete data.recoveries;
    delete data.initialPrimaries;
    data.restore = changes.restore;
  }
}

/** The changes as construct props, for a cluster declared in code (printed for the user to set). */
export function propsText(changes: SpecChanges): string {
  if (changes.kind === 'survivor') {
    return [
      `replace: ${JSON.stringify(changes.replace)},`,
      `recoveries: [...recoveries, ${JSON.stringify(changes.recovery)}], // after any recoveries already there`,
    ].join('\n');
  }
  return [`restore: ${JSON.stringify(changes.restore)},`, '// and remove replace, recoveries and initialPrimaries'].join('\n');
}

/**
 * The survivor's one-off run: its container's command minus the flags `ONE_OFF_DROPPED` names, listening on
 * loopback, with `--force-new-cluster`. With TLS (`tls`) its advertised client URLs become plain until its
 * own container starts and advertises its own again.
 */
export function forceNewClusterCommand(command: readonly string[], tls: boolean): string[] {
  const [bin, ...flags] = command;
  const kept = flags
    .filter((f) => !ONE_OFF_DROPPED.includes(flagName(f)))
    .map((f) => (tls && flagName(f) === '--advertise-client-urls' ? f.replace(/https:\/\//g, 'http://') : f));
  return [bin, ...kept, '--listen-client-urls=http://127.0.0.1:2379', '--listen-peer-urls=http://127.0.0.1:2380', '--force-new-cluster'];
}
