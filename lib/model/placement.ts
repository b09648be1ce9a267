/**
 * Where each member runs: the Docker host of every primary and secondary, and its slot there, from which its
 * published ports follow. Computed once per spec (`facts.ts`); the rules check ports with it and the topology
 * places members with it.
 */
import { DEFAULTS } from './defaults';
import type { ClusterSpec } from './props';

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
