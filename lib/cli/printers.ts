/**
 * What the CLI prints: a table for people, JSON for programs (`--json`), and one progress line while
 * waiting. Commands decide what to show; how it looks is decided here.
 */
import type { Expectation } from '../contract';
import type { Report } from '../runtime/verify';

/** A plain text table: one header row, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** The members as etcdctl's `member list -w table` shows them; METRICS and ALARMS only when some member has them. */
export function membersTable(r: Pick<Report, 'members'>): string {
  const withMetrics = r.members.some((m) => m.metrics);
  const withAlarms = r.members.some((m) => m.alarms?.length);
  const header = [
    'NAME',
    'ROLE',
    'STATE',
    'ID',
    'ENDPOINT',
    'CLIENT-URL',
    'PEER-URL',
    'TTL/INDEX',
    ...(withMetrics ? ['METRICS'] : []),
    ...(withAlarms ? ['ALARMS'] : []),
  ];
  const rows = r.members.map((m) => [
    m.name,
    m.role,
    m.state,
    m.id ?? '-',
    m.endpoint ?? '-',
    m.role === 'primary' ? (m.clientUrl ?? '-') : '-',
    m.peerUrl ?? '-',
    m.ttlSeconds !== undefined ? `${m.ttlSeconds}s` : m.raftIndex !== undefined ? `raft ${m.raftIndex}` : '-',
    ...(withMetrics ? [m.metrics ?? '-'] : []),
    ...(withAlarms ? [m.alarms?.join(',') || '-'] : []),
  ]);
  return table(header, rows);
}

export function summary(r: Report): string {
  const verdict = r.ok ? 'matches the spec' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`;
  const lines = [`cluster ${r.cluster}: ${verdict} (${r.attempts} look${r.attempts === 1 ? '' : 's'}, ${(r.elapsedMs / 1000).toFixed(1)}s)`];
  for (const p of r.problems) lines.push(`  - ${p.subject}: ${p.message}`);
  return lines.join('\n') + '\n';
}

export function progressLine(r: Report): string {
  const first = r.problems[0];
  const more = r.problems.length > 1 ? ` (+${r.problems.length - 1} more)` : '';
  return `waiting for ${r.cluster} (${(r.elapsedMs / 1000).toFixed(1)}s): ${first ? `${first.subject}: ${first.message}` : 'checking'}${more}`;
}

export const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** A Prometheus scrape configuration for the members' metrics endpoints, one job per cluster. */
export function scrapeConfig(e: Expectation): {
  job_name: string;
  metrics_path: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
} {
  const targets = (list: { metrics?: string | null }[]) => list.flatMap((m) => (m.metrics ? [new URL(m.metrics).host] : []));
  const groups = [
    { targets: targets(e.target.primaries), labels: { cluster: e.target.cluster, role: 'primary' } },
    { targets: targets(e.secondaries), labels: { cluster: e.target.cluster, role: 'secondary' } },
  ].filter((g) => g.targets.length);
  return { job_name: `etcd-${e.target.cluster}`, metrics_path: '/metrics', static_configs: groups };
}

export async function scrapeConfigYaml(e: Expectation): Promise<string> {
  const YAML = await import('yaml');
  return `# Prometheus scrape configuration for the etcd cluster ${e.target.cluster} (etcd-cluster scrape-config)\n${YAML.stringify({ scrape_configs: [scrapeConfig(e)] })}`;
}
