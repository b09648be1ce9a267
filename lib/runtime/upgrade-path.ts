/**
 * etcd's documented upgrade path, as pure rules (no I/O): which version changes of a live cluster are
 * refused, and the one line that says why and which hop to make first. `etcd-cluster rollout` and the
 * upgrade check that runs before a plain apply changes the image (`etcd-cluster upgrade-check`) both ask
 * `upgradeProblem`.
 *
 * From etcd's upgrade guides (etcd.io/docs/v3.6/upgrades/): one minor release at a time, from the newest
 * patch of the current minor; some hops name a floor below which the upgrade can fail (3.5 -> 3.6 from
 * below 3.5.26 can fail with "too many learner members"; 3.6 -> 3.7 asks for 3.6.11 or later); downgrades are
 * not an upgrade in reverse; and before 3.5 -> 3.6, `etcdutl check v2store` on each member's data (etcd 3.6
 * does not start on custom v2 data).
 */

/** A release as [major, minor, patch]. */
export type Version = readonly [number, number, number];

/** A version as etcd reports it (`3.5.21`) or a tag names it (`v3.5.21`, `3.5.21-local`), or undefined. */
export function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** The version an image reference's tag names (`...:v3.5.21`, `...:3.5.21-local`), or undefined. */
export function versionOfImage(image: string): Version | undefined {
  const name = image.split('@')[0];
  const colon = name.lastIndexOf(':');
  // A colon before the last slash belongs to a registry's port (`registry:5000/etcd`), not to a tag.
  if (colon < 0 || colon < name.lastIndexOf('/')) return undefined;
  return parseVersion(name.slice(colon + 1));
}

export const formatVersion = (v: Version): string => v.join('.');
const minorOf = (v: Version) => `${v[0]}.${v[1]}`;

export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * The documented floors: to reach minor `to`, every member must first run at least `from` (a patch of the
 * minor before it). A minor with no entry has no floor beyond "the minor before it".
 */
export const UPGRADE_FLOORS: Readonly<Record<string, string>> = {
  /** etcd's 3.5 -> 3.6 checklist: earlier 3.5 releases can fail the upgrade with "too many learner members". */
  '3.6': '3.5.26',
  /** etcd's 3.6 -> 3.7 guide. */
  '3.7': '3.6.11',
};

/** How the version change would be made: by `etcd-cluster rollout`, or by one plain apply of every primary. */
export type UpgradeVia = 'rollout' | 'apply';

export interface UpgradeStep {
  /** The cluster's name, for the message. */
  readonly cluster: string;
  /** The lowest version a live member runs. */
  readonly from: string;
  /** The version the primaries' image names. */
  readonly to: string;
  /** @default 'rollout' */
  readonly via?: UpgradeVia;
  /** Whether the cluster has etcd RBAC on (`auth`). @default false */
  readonly auth?: boolean;
}

/** The floor of the hop into `to`'s minor release, if etcd documents one. */
export function floorFor(to: Version): Version | undefined {
  const floor = UPGRADE_FLOORS[minorOf(to)];
  return floor === undefined ? undefined : parseVersion(floor);
}

/**
 * Why etcd's documented path refuses this change, as one line naming the hop to make first; undefined when
 * it may go ahead. A change within one minor release (a patch up) is always allowed; a minor release up
 * only by a rollout (one member at a time), from at least that hop's floor.
 */
export function upgradeProblem(step: UpgradeStep): string | undefined {
  const { cluster } = step;
  const via = step.via ?? 'rollout';
  const f = parseVersion(step.from);
  const t = parseVersion(step.to);
  if (!f || !t) return undefined;
  const from = formatVersion(f);
  const to = formatVersion(t);
  const withRollout = via === 'apply' ? ' with etcd-cluster rollout' : '';
  const c = compareVersions(t, f);
  if (c === 0) return undefined;
  if (c < 0)
    return `refusing to roll ${cluster} back from etcd ${from} to ${to}: etcd does not support downgrades this way (restore a snapshot into a new cluster instead)`;
  if (t[0] === f[0] && t[1] === f[1]) return undefined;
  // etcd's 3.4 -> 3.5 guide: "If your cluster enables auth, rolling upgrade from 3.4 or older version isn't
  // supported because 3.5 changes a format of WAL entries related to auth."
  if (step.auth && f[0] === 3 && f[1] <= 4) {
    return `refusing to upgrade ${cluster} from etcd ${from} to ${to}: etcd does not support a rolling upgrade from 3.4 with auth on (3.5 changes the WAL format of auth entries); take a snapshot (etcd-cluster snapshot save) and restore it into a new cluster of a 3.5 image`;
  }
  const far = t[0] !== f[0] || t[1] > f[1] + 1;
  const next: Version = [f[0], f[1] + 1, 0];
  const floor = floorFor(next);
  if (far || (floor && compareVersions(f, floor) < 0)) {
    const reason = far ? 'etcd upgrades one minor release at a time' : `etcd ${minorOf(next)} needs every member on ${formatVersion(floor!)} or later`;
    return `refusing to upgrade ${cluster} from etcd ${from} to ${to}: ${reason}; first ${firstHop(f)}${withRollout}${far ? '' : `, then ${to}`}`;
  }
  if (via === 'apply')
    return `refusing to upgrade ${cluster} from etcd ${from} to ${to} in one apply, which would restart every primary at once: run etcd-cluster rollout (one member at a time, as etcd's upgrade guide asks)`;
  return undefined;
}

/**
 * The hop to make first from `f`: up to the floor of the next minor release if `f` is below it, else to the
 * next minor release (its newest patch, which the hop after it may need).
 */
function firstHop(f: Version): string {
  const next: Version = [f[0], f[1] + 1, 0];
  const floor = floorFor(next);
  if (floor && compareVersions(f, floor) < 0) return `${formatVersion(f)} -> the newest ${minorOf(f)} patch (${formatVersion(floor)} or later)`;
  const after = floorFor([f[0], f[1] + 2, 0]);
  return `${minorOf(f)} -> ${minorOf(next)} (the newest ${minorOf(next)} patch${after ? `: ${f[0]}.${f[1] + 2} needs ${formatVersion(after)} or later` : ''})`;
}

/** Whether etcd's guide asks for `etcdutl check v2store` before this change: a hop from 3.5 to 3.6. */
export function needsV2StoreCheck(from: string, to: string): boolean {
  const f = parseVersion(from);
  const t = parseVersion(to);
  return !!f && !!t && f[0] === 3 && f[1] === 5 && t[0] === 3 && t[1] === 6;
}
