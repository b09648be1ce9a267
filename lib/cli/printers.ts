/**
 * What the CLI prints: a table for people, JSON for programs (`--json`), and one progress line while
 * waiting. Commands decide what to show; how it looks is decided here.
 */
import type { MemberReport, Report } from '../runtime/verify';

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

function memberRows(members: MemberReport[]): string[][] {
  return members.map((m) => [
    m.name,
    m.role,
    m.state,
    m.id ?? '-',
    m.endpoint ?? '-',
    m.role === 'primary' ? (m.clientUrl ?? '-') : '-',
    m.peerUrl ?? '-',
    m.ttlSeconds !== undefined ? `${m.ttlSeconds}s` : m.raftIndex !== undefined ? `raft ${m.raftIndex}` : '-',
  ]);
}

export function membersTable(r: Pick<Report, 'members'>): string {
  return table(['NAME', 'ROLE', 'STATE', 'ID', 'ENDPOINT', 'CLIENT-URL', 'PEER-URL', 'TTL/INDEX'], memberRows(r.members));
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
