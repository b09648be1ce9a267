/**
 * Where each member runs, and the checks of hosts, placement and published ports that follow from it.
 * One computation: validation and the topology both call `placementOf`.
 */
import { DEFAULTS } from './defaults';
import type { ClusterSpec } from './spec';

/**
 * Where each member runs: the index into `spec.hosts` of every primary and secondary, and its slot (how
 * many of its role come before it on the same host), from which its published ports follow. Without
 * hosts, everything is on host 0 and the slot is the member's own position.
 */
export interface Placement {
  readonly primaries: { host: number; slot: number }[];
  readonly secondaries: { host: number; slot: number }[];
}

/** Host port of the first primary (on each host): the spec's, else the default for one host or for hosts. */
export function primaryBaseOf(spec: ClusterSpec): number {
  return spec.ports.primaryBase ?? (spec.hosts ? DEFAULTS.primaryBaseOnHosts : DEFAULTS.primaryBase);
}

/** Peer port base with hosts: etcd's own peer port unless the spec says otherwise. */
export function peerBaseOf(spec: ClusterSpec): number {
  return spec.ports.peerBase ?? DEFAULTS.peerBase;
}

export function placementOf(spec: ClusterSpec): Placement {
  const hostIndex = (name: string) => (spec.hosts ?? []).findIndex((h) => h.name === name);
  const slotted = (hosts: number[]) => {
    const seen = new Map<number, number>();
    return hosts.map((host) => {
      const slot = seen.get(host) ?? 0;
      seen.set(host, slot + 1);
      return { host, slot };
    });
  };
  if (!spec.hosts) {
    return { primaries: slotted(Array(spec.primaries).fill(0)), secondaries: slotted(Array(spec.secondaries).fill(0)) };
  }
  const primaryHosts = spec.placement?.primaries?.map(hostIndex) ?? Array.from({ length: spec.primaries }, (_, k) => k);
  const cycle = spec.placement?.secondaries?.map(hostIndex) ?? spec.hosts.map((_, k) => k);
  const secondaryHosts = Array.from({ length: spec.secondaries }, (_, k) => cycle[k % cycle.length]);
  return { primaries: slotted(primaryHosts), secondaries: slotted(secondaryHosts) };
}

/** Problems with hosts and placement, before any placement is computed. */
export function hostsProblem(spec: ClusterSpec): string | undefined {
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
export function portsProblem(spec: ClusterSpec): string | undefined {
  const place = placementOf(spec);
  const hostCount = spec.hosts?.length ?? 1;
  const primaryBase = primaryBaseOf(spec);
  const { secondaryBase } = spec.ports;
  const peerBase = peerBaseOf(spec);
  for (let h = 0; h < hostCount; h++) {
    const on = spec.hosts ? ` on host ${spec.hosts[h].name}` : '';
    const pc = place.primaries.filter((p) => p.host === h).length;
    const sc = place.secondaries.filter((p) => p.host === h).length;
    // Custom secondaries serve no metrics of ours.
    const metricsSc = spec.secondary.command === undefined ? sc : 0;
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
