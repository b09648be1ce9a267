/**
 * The cross-field rules: checks that need several fields at once, run after each field passed the schema.
 * Each rule returns the one-line problem (field, what is wrong, the value received) or undefined; the first
 * problem wins, in the order of the two lists below. A new rule is one function in one of them:
 * `BEFORE_PLACEMENT` when members cannot be placed until it holds, else `AFTER_PLACEMENT`, which sees the
 * spec's facts (where each member runs, what the secondaries are).
 */
import type { SpecFacts } from './facts';
import { goDurationMs } from './duration';
import { etcdVersionOfImage } from './expectation';
import { envOfFlag, extraFlagsProblem, flagName, PRIMARY_FLAGS, PROXY_FLAGS } from './flags';
import { peerBaseOf, primaryBaseOf } from './placement';
import type { ClusterSpec } from './props';

export type SpecRule = (spec: ClusterSpec) => string | undefined;
export type FactsRule = (facts: SpecFacts) => string | undefined;

/** A Go duration (`1h`, `30m`, `1h30m`) or a whole number, as etcd's periodic retention takes it. */
const PERIODIC_RETENTION = /^(\d+|(\d+(\.\d+)?(ns|us|ms|s|m|h))+)$/;

/** Every replaced primary must be declared. */
function replaceProblem(spec: ClusterSpec): string | undefined {
  for (const key of Object.keys(spec.replace)) {
    if (Number(key) > spec.primaries) return `replace.${key}: primary ${key} is not declared (primaries: ${spec.primaries})`;
  }
  // A recovery's rejoined generations are replacement generations the spec still has (or has raised since).
  for (const [k, r] of spec.recoveries.entries()) {
    for (const [key, generation] of Object.entries(r.rejoined)) {
      if (Number(key) === r.from) return `recoveries.${k}.rejoined.${key}: primary ${key} is the one the cluster was recovered from; it did not rejoin`;
      if (generation > (spec.replace[key] ?? 0)) {
        return `recoveries.${k}.rejoined.${key}: primary ${key} rejoined at generation ${generation}, but replace.${key} is ${spec.replace[key] ?? 'not set'}; keep the replace entry that etcd-cluster recover wrote`;
      }
    }
  }
  return undefined;
}

/** With hosts a founder's address comes from its placement: no founder may be left unplaced. */
function foundersOnHostsProblem(spec: ClusterSpec): string | undefined {
  if (spec.hosts && spec.initialPrimaries !== undefined && spec.initialPrimaries > spec.primaries) {
    return `initialPrimaries: ${spec.initialPrimaries} is more than primaries (${spec.primaries}); with hosts a founder's address comes from its placement, so primaries cannot go below initialPrimaries`;
  }
  return undefined;
}

/** Problems with hosts and placement, before any placement is computed. */
function hostsProblem(spec: ClusterSpec): string | undefined {
  if (!spec.hosts) {
    if (spec.placement) return 'placement: needs hosts (list the Docker hosts under hosts)';
    if (spec.ports.peerBase !== undefined) return `ports.peerBase: only used with hosts; a single host never publishes peer ports (got ${spec.ports.peerBase})`;
    return undefined;
  }
  if (spec.ports.bindAddress !== undefined) {
    return `ports.bindAddress: not used with hosts; each host publishes on its own address (got ${JSON.stringify(spec.ports.bindAddress)})`;
  }
  const names = spec.hosts.map((h) => h.name);
  for (const [k, h] of spec.hosts.entries()) {
    const firstName = names.indexOf(h.name);
    if (firstName < k) return `hosts.${k}.name: duplicate host name ${JSON.stringify(h.name)} (also hosts.${firstName})`;
    const firstAddress = spec.hosts.findIndex((x) => x.address === h.address);
    if (firstAddress < k) return `hosts.${k}.address: ${h.address} is also the address of host ${JSON.stringify(spec.hosts[firstAddress].name)}`;
  }
  const known = `(hosts: ${names.join(', ')})`;
  const placed = spec.placement?.primaries;
  if (placed) {
    if (placed.length !== spec.primaries)
      return `placement.primaries: lists ${placed.length} host${placed.length === 1 ? '' : 's'} for ${spec.primaries} primaries (got ${JSON.stringify(placed)})`;
    const bad = placed.findIndex((n) => !names.includes(n));
    if (bad >= 0) return `placement.primaries.${bad}: unknown host ${JSON.stringify(placed[bad])} ${known}`;
  } else if (spec.hosts.length < spec.primaries) {
    return `hosts: ${spec.hosts.length} host${spec.hosts.length === 1 ? '' : 's'} cannot hold ${spec.primaries} primaries one per host; add hosts, or place the primaries explicitly with placement.primaries`;
  }
  const cycle = spec.placement?.secondaries ?? [];
  const badSecondary = cycle.findIndex((n) => !names.includes(n));
  if (badSecondary >= 0) return `placement.secondaries.${badSecondary}: unknown host ${JSON.stringify(cycle[badSecondary])} ${known}`;
  return undefined;
}

/** Published port ranges of every host must fit below 65536 and not overlap. */
function portsProblem({ spec, placement: place, secondaryKind }: SpecFacts): string | undefined {
  const hostCount = spec.hosts?.length ?? 1;
  const primaryBase = primaryBaseOf(spec);
  const { secondaryBase } = spec.ports;
  const peerBase = peerBaseOf(spec);
  for (let h = 0; h < hostCount; h++) {
    const on = spec.hosts ? ` on host ${spec.hosts[h].name}` : '';
    const pc = place.primaries.filter((p) => p.host === h).length;
    const sc = place.secondaries.filter((p) => p.host === h).length;
    const metricsSc = secondaryKind.servesMetrics ? sc : 0;
    const ranges: { field: string; what: string; first: number; count: number }[] = [
      { field: 'ports.primaryBase', what: "the primaries' ports", first: primaryBase, count: pc },
      ...(spec.hosts ? [{ field: 'ports.peerBase', what: "the primaries' peer ports", first: peerBase, count: pc }] : []),
      { field: 'ports.secondaryBase', what: 'secondaries', first: secondaryBase, count: sc },
      ...(spec.metrics
        ? [
            { field: 'metrics.primaryBase', what: "the primaries' metrics ports", first: spec.metrics.primaryBase, count: pc },
            { field: 'metrics.secondaryBase', what: "the secondaries' metrics ports", first: spec.metrics.secondaryBase, count: metricsSc },
          ]
        : []),
    ];
    for (const r of ranges) {
      const last = r.first + r.count - 1;
      if (r.count > 0 && last > 65535) {
        const who = r.field === 'ports.secondaryBase' ? `${r.count} secondaries` : `${r.count} primaries`;
        return `${r.field}: ${r.first} leaves no room for ${who}${on} (last port ${last} > 65535)`;
      }
    }
    for (let a = 0; a < ranges.length; a++) {
      for (let b = a + 1; b < ranges.length; b++) {
        const x = ranges[a];
        const y = ranges[b];
        if (x.count === 0 || y.count === 0) continue;
        if (y.first <= x.first + x.count - 1 && x.first <= y.first + y.count - 1) {
          return `${y.field}: ${y.first} clashes with ${x.what} ${x.first}-${x.first + x.count - 1}${on} (${y.field === 'ports.secondaryBase' ? 'secondaries' : 'they'} need ${y.first}-${y.first + y.count - 1})`;
        }
      }
    }
  }
  return undefined;
}

/** Compaction, extra flags and environment: each must agree with the others and with what we set. */
function etcdSettingsProblem({ spec, secondaryKind }: SpecFacts): string | undefined {
  const { autoCompactionMode: mode, autoCompactionRetention: retention } = spec.etcd;
  if (retention !== undefined) {
    if (mode === 'off')
      return `etcd.autoCompactionRetention: only used with autoCompactionMode periodic or revision (got ${JSON.stringify(retention)} with off)`;
    if (mode === 'periodic' && !PERIODIC_RETENTION.test(retention)) {
      return `etcd.autoCompactionRetention: must be a duration like 1h or 30m with autoCompactionMode periodic (got ${JSON.stringify(retention)})`;
    }
    if (mode === 'revision' && !/^\d+$/.test(retention)) {
      return `etcd.autoCompactionRetention: must be a number of revisions with autoCompactionMode revision (got ${JSON.stringify(retention)})`;
    }
  }
  const flags = extraFlagsProblem(spec.etcd.extraFlags, 'etcd.extraFlags', PRIMARY_FLAGS);
  if (flags) return flags;
  const set = new Set([...Object.keys(PRIMARY_FLAGS), ...spec.etcd.extraFlags.map(flagName)].map(envOfFlag));
  const shadow = Object.keys(spec.etcd.env).find((k) => set.has(k));
  if (shadow)
    return `etcd.env.${shadow}: shadows a flag that is set (etcd exits when a variable and its flag are both given); use the field or extraFlags instead`;
  if (spec.secondary.extraFlags.length && !secondaryKind.takesExtraFlags) {
    return `secondary.extraFlags: only for the grpc-proxy; a custom secondary.command carries its own flags (got ${JSON.stringify(spec.secondary.extraFlags)})`;
  }
  return extraFlagsProblem(spec.secondary.extraFlags, 'secondary.extraFlags', PROXY_FLAGS);
}

/** Backups, the defragmenter in the backup container, and restore with the rest of the spec. */
function backupProblem({ spec }: SpecFacts): string | undefined {
  if (spec.backup) {
    const ms = goDurationMs(spec.backup.every);
    if (ms < 1000) return `backup.every: must be at least 1s (got ${JSON.stringify(spec.backup.every)})`;
    if (spec.auth) return 'backup: not available with auth yet: the backup container would need the root password in the Terraform state';
    const store = spec.backup.store;
    if (store) {
      if (store.caFile && store.endpoint.startsWith('http:'))
        return `backup.store.caFile: only for an https endpoint (got endpoint ${JSON.stringify(store.endpoint)})`;
      const delta = goDurationMs(store.deltaEvery);
      if (delta < 100 || delta > 60_000) return `backup.store.deltaEvery: must be from 100ms to 1m (got ${JSON.stringify(store.deltaEvery)})`;
      if (goDurationMs(store.maxBehind) < Math.max(1000, 2 * delta)) {
        return `backup.store.maxBehind: must be at least 1s and twice deltaEvery (got ${JSON.stringify(store.maxBehind)}, deltaEvery ${JSON.stringify(store.deltaEvery)})`;
      }
    }
  }
  if (spec.defrag && spec.defrag.enabled !== false) {
    if (goDurationMs(spec.defrag.every) < 1000) return `defrag.every: must be at least 1s (got ${JSON.stringify(spec.defrag.every)})`;
    if (spec.auth) {
      return 'defrag: not available with auth yet: the backup container would need the root password in the Terraform state; set defrag.enabled to false and run etcd-cluster defrag --if-needed and etcd-cluster reclaim from a scheduler of yours';
    }
    if (!spec.backup) {
      return 'defrag: the scheduled defragmenter runs in the backup container: add backup (bash scripts/backup-image.sh builds its image), or set defrag.enabled to false';
    }
  }
  if (spec.restore) {
    // etcd 3.4 images have no etcdutl, and their etcdctl's restore has no --bump-revision before 3.4.27.
    if (etcdVersionOfImage(spec.image)?.startsWith('3.4.')) {
      return `restore: needs etcd 3.5 or later (etcdutl snapshot restore, --bump-revision); image ${spec.image} is etcd ${etcdVersionOfImage(spec.image)}: restore into a cluster of a 3.5 image (a 3.4 snapshot restores there)`;
    }
    // Replaced primaries (a later replace or recovery) join the restored cluster instead of being restored.
    if ((spec.initialPrimaries ?? spec.primaries) !== spec.primaries) {
      return `restore: every primary of a restored cluster is a founder; leave out initialPrimaries (got initialPrimaries ${spec.initialPrimaries}, primaries ${spec.primaries})`;
    }
  }
  return undefined;
}

/** etcd's own advice: an election timeout of at least five heartbeats. */
function timingProblem({ spec }: SpecFacts): string | undefined {
  const { heartbeatIntervalMs: heartbeat, electionTimeoutMs: election } = spec.etcd;
  if (heartbeat !== undefined && election !== undefined && election < 5 * heartbeat) {
    return `etcd.electionTimeoutMs: ${election} must be at least 5 times etcd.heartbeatIntervalMs (${heartbeat})`;
  }
  return undefined;
}

/** Rules that must hold before members can be placed on hosts. */
export const BEFORE_PLACEMENT: readonly SpecRule[] = [replaceProblem, foundersOnHostsProblem, hostsProblem];

/** Rules over the placed members and the rest of the spec. */
export const AFTER_PLACEMENT: readonly FactsRule[] = [portsProblem, etcdSettingsProblem, backupProblem, timingProblem];

/** The first problem of a list of rules, or undefined. */
export function firstProblem<T>(rules: readonly ((x: T) => string | undefined)[], x: T): string | undefined {
  for (const rule of rules) {
    const problem = rule(x);
    if (problem) return problem;
  }
  return undefined;
}
