/**
 * The verifier's judgement, as a pure function: what was observed of a live cluster (observe.ts) against
 * what was declared (the expectation) gives the report. No network here; unit tests feed it recorded
 * observations.
 */
import type { Expectation } from '../contract';
import type { CertificatesObservation } from './certificates';
import { judgeExpiry, type CertificateReport } from './expiry';
import { hex, type LiveMember } from './live';

/** How many unreachable registered secondaries make the verdict name the host's neighbour table as a likely cause. */
export const SILENT_SECONDARIES_HINT = 20;
export type { CertificateReport } from './expiry';

export type { LiveMember } from './live';

export type MemberState =
  'leader' | 'follower' | 'learner' | 'unreachable' | 'missing' | 'foreign' | 'registered' | 'serving' | 'unregistered' | 'unknown' | 'extra';

/** What one primary said when asked directly, or why it did not answer. */
export interface PrimaryObservation {
  readonly name: string;
  readonly answer?: {
    readonly clusterId: string;
    readonly memberId: string;
    /** ID of the leader this member knows; '0' for none. */
    readonly leader: string;
    readonly raftIndex: string;
    /** The key-value store's revision this member serves. */
    readonly revision?: string;
    readonly members: LiveMember[];
  };
  /** Why it did not answer (set when there is no answer). */
  readonly error?: string;
}

/** A value read back, or why the read failed. */
export interface ReadObservation {
  readonly value?: string;
  readonly error?: string;
}

export interface Observation {
  /** Every declared primary, in declared order. */
  readonly primaries: PrimaryObservation[];
  /** The probe: a linearizable write through one primary, read back through the others and the secondaries. */
  readonly probe?: {
    readonly writer: string;
    readonly value: string;
    /** Why the write failed; undefined when it succeeded. */
    readonly writeError?: string;
    /** Linearizable reads of the probe key, by primary name (only primaries of the cluster that answered). */
    readonly reads: Record<string, ReadObservation>;
  };
  /** Keys under the registration prefix with their leases' remaining TTL, or why they could not be read. */
  readonly registrations?: { readonly list: { key: string; ttlSeconds?: number }[] } | { readonly error: string };
  /** Reads of the probe key through each declared secondary (absent when nothing was written). */
  readonly secondaryReads: Record<string, ReadObservation>;
  /** Active alarms (etcd's Alarm GET through a primary of the cluster), or why they could not be read. */
  readonly alarms?: { readonly list: { memberId: string; alarm: string }[] } | { readonly error: string };
  /** With TLS: the certificate files, and what each member served on a TLS handshake. */
  readonly certificates?: CertificatesObservation;
  /**
   * With `backup.store`: the backup container's last report (the newest revision in the store, when it
   * reported, since when it is behind), or why it could not be read.
   */
  readonly store?:
    | { readonly position: { readonly revision: number; readonly at: string; readonly behindSince?: string; readonly error?: string } }
    | { readonly error: string };
}

/** How to judge what is not a yes or no. */
export interface JudgeOptions {
  /**
   * Warn when a certificate expires within this many days. @default the expectation's (the spec's
   * `tls.expiryWarningDays`), else 30
   */
  readonly warnDays?: number;
  /** The time to judge freshness at (the backup store's); tests set it. @default now */
  readonly now?: number;
}

/** What to do about an alarm, by its etcd name. */
const ALARM_ADVICE: Record<string, string> = {
  NOSPACE:
    'the backend reached its quota and refuses writes: etcd-cluster reclaim compacts, defragments every member and disarms it (the backup container does it by itself unless defrag.enabled is false); if the data itself fills the quota, delete what is not needed first or raise etcd.quotaBackendBytes',
  CORRUPT: 'its data differs from the other members: replace this member (spec replace)',
};

export interface MemberReport {
  readonly name: string;
  readonly role: 'primary' | 'secondary';
  readonly state: MemberState;
  /** etcd member ID (hex), for primaries that are members. */
  readonly id?: string;
  /** Where the host reaches it. */
  readonly endpoint?: string;
  readonly clientUrl?: string;
  readonly peerUrl?: string;
  /** Seconds left on a secondary's registration lease. */
  readonly ttlSeconds?: number;
  /** etcd's raft index as this primary reported it. */
  readonly raftIndex?: string;
  /** Its metrics endpoint, when the spec asks for metrics. */
  readonly metrics?: string;
  /** Active etcd alarms of this member (NOSPACE, CORRUPT). */
  readonly alarms?: string[];
  /** With TLS: when the certificate it serves (else its file) expires, and the whole days left. */
  readonly certificateExpires?: string;
  readonly certificateDaysLeft?: number;
}

export interface Problem {
  /** The member (or `cluster`) the problem is about. */
  readonly subject: string;
  readonly message: string;
}

export interface Verdict {
  readonly cluster: string;
  readonly ok: boolean;
  /** Whether any declared primary answered at all: without one there was nothing to compare. */
  readonly reachable: boolean;
  readonly clusterId?: string;
  readonly leader?: string;
  readonly members: MemberReport[];
  readonly problems: Problem[];
  /** What does not fail verification but needs doing: a certificate expiring soon, one renewed but not rolled out. */
  readonly warnings: Problem[];
  /** With TLS: every certificate of the cluster and when it expires. */
  readonly certificates?: CertificateReport[];
  /** With `backup.store`: the newest revision the backup container stored there, and when it said so. */
  readonly backupStore?: { readonly revision: number; readonly at: string; readonly behindSince?: string };
}

/**
 * The cluster as most reachable primaries see it: its ID, the view to trust (one that knows a leader), and
 * the primaries that belong to it. The observer uses it to pick whom to write through.
 */
export function consensusOf(primaries: PrimaryObservation[]) {
  const counts = new Map<string, number>();
  for (const p of primaries) if (p.answer) counts.set(p.answer.clusterId, (counts.get(p.answer.clusterId) ?? 0) + 1);
  const clusterId = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const inCluster = primaries.filter((p) => p.answer && p.answer.clusterId === clusterId);
  const reference = inCluster.find((p) => p.answer!.leader !== '0') ?? inCluster[0];
  const live = reference?.answer?.members ?? [];
  const leaderMember = reference && live.find((m) => m.ID === reference.answer!.leader);
  return { clusterId, inCluster, reference, live, leaderMember };
}

export function judge(e: Expectation, o: Observation, opts: JudgeOptions = {}): Verdict {
  const problems: Problem[] = [];
  const problem = (subject: string, message: string) => problems.push({ subject, message });
  const { clusterId, inCluster, reference, live, leaderMember } = consensusOf(o.primaries);
  const members: MemberReport[] = [];
  const matched = new Set<string>();
  const activeAlarms = o.alarms && 'list' in o.alarms ? o.alarms.list : [];
  const alarmsOf = (id: string) => activeAlarms.filter((a) => a.memberId === id).map((a) => a.alarm);
  if (o.alarms && 'error' in o.alarms) problem('cluster', `reading the alarms failed: ${o.alarms.error}`);

  // 1. Every primary, as it answered directly.
  e.target.primaries.forEach((p, k) => {
    const seen = o.primaries[k];
    const view = seen?.answer;
    const m = live.find((x) => x.name === p.name) ?? live.find((x) => x.peerURLs.includes(p.peerUrl));
    if (m) matched.add(m.ID);
    let state: MemberState;
    if (!view) {
      state = 'unreachable';
      problem(p.name, `unreachable at ${p.endpoint}: ${seen?.error ?? 'not asked'}`);
    } else if (view.clusterId !== clusterId) {
      state = 'foreign';
      problem(p.name, `belongs to cluster ${hex(view.clusterId)}, not ${hex(clusterId)} (started with another --initial-cluster-token or --initial-cluster?)`);
    } else if (!m) {
      state = 'missing';
      problem(p.name, 'is not a member of the cluster');
    } else if (m.isLearner) {
      state = 'learner';
      problem(p.name, 'is a learner, not a voting member');
    } else state = m.ID === reference?.answer?.leader ? 'leader' : 'follower';

    // A member that never published its client URLs never joined: etcd bootstraps names from
    // --initial-cluster, but a node started with another token (or another --initial-cluster) stays out.
    const neverJoined = m !== undefined && m.clientURLs.length === 0;
    if (m && neverJoined && !m.name) problem(p.name, 'was added as a member but never started');
    else if (m && neverJoined) {
      problem(
        p.name,
        'is listed but has never joined (no client URL published): was it started with another --initial-cluster-token or --initial-cluster, or can it not reach its peers?',
      );
    }
    if (m && (m.peerURLs.length !== 1 || m.peerURLs[0] !== p.peerUrl)) {
      problem(p.name, `has peer URL ${m.peerURLs.join(',') || 'none'}, declared ${p.peerUrl}`);
    }
    if (m && !neverJoined && (m.clientURLs.length !== 1 || m.clientURLs[0] !== p.clientUrl)) {
      problem(p.name, `has client URL ${m.clientURLs.join(',') || 'none'}, declared ${p.clientUrl}`);
    }
    if (view && e.minRevision && view.revision !== undefined && BigInt(view.revision) < BigInt(e.minRevision)) {
      problem(p.name, `serves revision ${view.revision}, older than the snapshot the cluster was restored from (${e.minRevision})`);
    }
    if (view && m && view.clusterId === clusterId && view.memberId !== m.ID) {
      problem(p.name, `answers as member ${hex(view.memberId)}, but the member list has ${hex(m.ID)} under its name`);
    }
    const alarms = m ? alarmsOf(m.ID) : [];
    for (const alarm of alarms) problem(p.name, `alarm ${alarm} is active: ${ALARM_ADVICE[alarm] ?? 'see etcd-cluster alarm list'}`);
    members.push({
      name: p.name,
      role: 'primary',
      state,
      id: m ? hex(m.ID) : undefined,
      endpoint: p.endpoint,
      clientUrl: m?.clientURLs[0] ?? p.clientUrl,
      peerUrl: m?.peerURLs[0] ?? p.peerUrl,
      raftIndex: view?.raftIndex,
      ...(p.metrics ? { metrics: p.metrics } : {}),
      ...(alarms.length ? { alarms } : {}),
    });
  });

  for (const m of live.filter((x) => !matched.has(x.ID))) {
    const label = m.name || `(unstarted ${hex(m.ID)})`;
    problem(label, `is an extra member (peer URLs ${m.peerURLs.join(',')}) that the spec does not declare`);
    members.push({ name: label, role: 'primary', state: 'extra', id: hex(m.ID), peerUrl: m.peerURLs[0], clientUrl: m.clientURLs[0] });
  }
  const leaders = new Set(inCluster.map((p) => p.answer!.leader));
  if (inCluster.length && (leaders.size > 1 || leaders.has('0'))) {
    problem('cluster', leaders.has('0') && leaders.size === 1 ? 'has no leader' : 'primaries disagree on the leader');
  } else if (reference && !leaderMember) {
    problem('cluster', `leader ${hex(reference.answer!.leader)} is not in the member list`);
  }
  const idsOf = (p: PrimaryObservation) =>
    p
      .answer!.members.map((m) => `${m.ID}=${m.peerURLs.join(',')}`)
      .sort()
      .join(' ');
  if (reference && inCluster.some((p) => idsOf(p) !== idsOf(reference))) problem('cluster', 'primaries report different member lists');

  // 2. The probe: written through one primary, read back linearizably from every primary of the cluster.
  const written = o.probe !== undefined && o.probe.writeError === undefined;
  if (o.probe?.writeError !== undefined) problem('cluster', `a write through ${o.probe.writer} failed: ${o.probe.writeError}`);
  if (written) {
    for (const p of e.target.primaries) {
      const read = o.probe!.reads[p.name];
      if (!read) continue;
      if (read.error !== undefined) problem(p.name, `a linearizable read failed: ${read.error}`);
      else if (read.value !== o.probe!.value) problem(p.name, 'a linearizable read did not return the value just written');
    }
  }

  // 3. Secondaries: registered under the prefix (when they register), and serving reads.
  const registrations = o.registrations && 'list' in o.registrations ? o.registrations.list : undefined;
  if (o.registrations && 'error' in o.registrations) problem('cluster', `reading registrations under ${e.registryPrefix} failed: ${o.registrations.error}`);
  for (const s of e.secondaries) {
    // A secondary that does not register (a custom client, or a proxy under RBAC) is judged by serving reads.
    let state: MemberState = !s.registrationKey ? 'serving' : registrations ? 'registered' : 'unknown';
    let ttlSeconds: number | undefined;
    if (s.registrationKey && registrations) {
      const reg = registrations.find((r) => r.key === s.registrationKey);
      if (!reg) {
        state = 'unregistered';
        problem(s.name, `is not registered under ${e.registryPrefix} (expected key ${s.registrationKey})`);
      } else ttlSeconds = reg.ttlSeconds;
    }
    const read = o.secondaryReads[s.name];
    if (written && read) {
      if (read.error !== undefined) {
        if (state === 'registered' || state === 'serving') state = 'unreachable';
        problem(s.name, `does not serve reads at ${s.endpoint}: ${read.error}`);
      } else if (read.value !== o.probe!.value) problem(s.name, `a read through ${s.endpoint} did not return the value just written`);
    }
    members.push({ name: s.name, role: 'secondary', state, endpoint: s.endpoint, ttlSeconds, ...(s.metrics ? { metrics: s.metrics } : {}) });
  }
  // Many registered secondaries that accept no read before the deadline at once: on one host that is the
  // kernel's neighbour table, not the proxies (README, "Hundreds of secondaries").
  const silent = members.filter((m) => m.role === 'secondary' && m.state === 'unreachable').length;
  if (silent >= SILENT_SECONDARIES_HINT) {
    problem(
      'cluster',
      `${silent} registered secondaries do not answer through their published ports: with hundreds of containers on one host, look for "neighbor table overflow" in dmesg and raise net.ipv4.neigh.default.gc_thresh1/2/3 (README, "Hundreds of secondaries")`,
    );
  }
  const declared = new Set(e.secondaries.map((s) => s.registrationKey));
  for (const r of registrations ?? []) {
    if (declared.has(r.key)) continue;
    const name = r.key.slice(e.registryPrefix.length + 1);
    problem(name, `registration ${r.key} belongs to no declared secondary (stale${r.ttlSeconds !== undefined ? `, lapses in ${r.ttlSeconds}s` : ''})`);
    members.push({ name, role: 'secondary', state: 'extra', ttlSeconds: r.ttlSeconds });
  }

  // 4. Certificates: expired fails, expiring soon warns.
  const expiry = o.certificates ? judgeExpiry(o.certificates, opts.warnDays ?? e.certificates?.warnDays ?? 30) : undefined;
  problems.push(...(expiry?.problems ?? []));
  const withCertificates = members.map((m) => {
    const c = expiry?.certificates.find((r) => (r.use === 'server-peer' || r.use === 'server') && r.members[0] === m.name && r.notAfter);
    return c ? { ...m, certificateExpires: c.notAfter, certificateDaysLeft: c.daysLeft } : m;
  });

  return {
    cluster: e.target.cluster,
    ok: problems.length === 0,
    reachable: o.primaries.some((p) => p.answer !== undefined),
    clusterId: hex(clusterId),
    leader: leaderMember?.name || undefined,
    members: withCertificates,
    problems,
    warnings: [...(expiry?.warnings ?? []), ...storeWarnings(e, o, opts.now ?? Date.now())],
    ...(expiry ? { certificates: expiry.certificates } : {}),
    ...(o.store && 'position' in o.store ? { backupStore: o.store.position } : {}),
  };
}

/**
 * The store's freshness, as warnings (a store that trails does not fail a deploy; it is named until it
 * catches up): behind for longer than `backup.store.maxBehind`, a container that stopped reporting, or one
 * whose report cannot be read.
 */
export function storeWarnings(e: Expectation, o: Pick<Observation, 'store'>, now: number): Problem[] {
  const store = e.backup?.store;
  if (!store || !o.store) return [];
  const subject = e.backup!.container;
  if ('error' in o.store) return [{ subject, message: `its position in the backup store is unknown: ${o.store.error}` }];
  const limit = store.maxBehindMs;
  const { revision, at, behindSince, error } = o.store.position;
  const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
  if (error && !behindSince) return [{ subject, message: `the backup container cannot use its store: ${error}` }];
  if (behindSince && now - Date.parse(behindSince) > limit) {
    const why = error ? `: ${error}` : ' (see its logs)';
    return [
      {
        subject,
        message: `the backup store is behind since ${behindSince} (${seconds(now - Date.parse(behindSince))}, more than backup.store.maxBehind ${store.maxBehind}): the newest revision there is ${revision}; the store does not take what the container sends${why}`,
      },
    ];
  }
  if (now - Date.parse(at) > limit) {
    return [
      {
        subject,
        message: `the backup container last reported its store position at ${at} (${seconds(now - Date.parse(at))} ago, more than backup.store.maxBehind ${store.maxBehind}): is it running?`,
      },
    ];
  }
  return [];
}
