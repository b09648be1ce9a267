/**
 * What the CLI prints, as etcdctl's printer.go does it: one interface, one printer per output form. The
 * table printer is for people (tables, sentences), the JSON printer for programs (`--json`: one JSON
 * document on stdout). Commands say what to show; how it looks is decided here. Progress goes to stderr
 * and is not a printer's business.
 */
import type { Report } from '../runtime/verify';

/** A column of a table: its header and how a row fills it. */
export interface Column<T> {
  readonly header: string;
  readonly cell: (row: T) => string;
}

export interface Printer {
  /** The verifier's report: `verify` leads with the verdict, `members` with the members. */
  report(r: Report, lead: 'verdict' | 'members'): void;
  /**
   * Records: a table for people (after `heading`; only `empty`, when given, if there are none), for programs
   * `value` when given, else the records themselves.
   */
  records<T>(columns: readonly Column<T>[], rows: readonly T[], opts?: { heading?: string; empty?: string; value?: unknown }): void;
  /** One result: a sentence for people, `value` for programs. */
  result(sentence: string, value: unknown): void;
  /** A document with a text form of its own (a YAML configuration) for people, `value` for programs. */
  document(text: string, value: unknown): void;
}

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

/** One line on stderr while the verifier waits. */
export function progressLine(r: Report): string {
  const first = r.problems[0];
  const more = r.problems.length > 1 ? ` (+${r.problems.length - 1} more)` : '';
  return `waiting for ${r.cluster} (${(r.elapsedMs / 1000).toFixed(1)}s): ${first ? `${first.subject}: ${first.message}` : 'checking'}${more}`;
}

export const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** For people. */
export class TablePrinter implements Printer {
  constructor(private readonly out: (text: string) => void) {}

  report(r: Report, lead: 'verdict' | 'members'): void {
    this.out(lead === 'verdict' ? summary(r) + (r.ok ? '' : '\n' + membersTable(r)) : membersTable(r) + (r.ok ? '' : '\n' + summary(r)));
  }

  records<T>(columns: readonly Column<T>[], rows: readonly T[], opts: { heading?: string; empty?: string } = {}): void {
    if (!rows.length && opts.empty !== undefined) return this.out(opts.empty);
    const header = columns.map((c) => c.header);
    this.out(
      (opts.heading ?? '') +
        table(
          header,
          rows.map((row) => columns.map((c) => c.cell(row))),
        ),
    );
  }

  result(sentence: string): void {
    this.out(sentence.endsWith('\n') ? sentence : `${sentence}\n`);
  }

  document(text: string): void {
    this.out(text);
  }
}

/** For programs: one JSON document. */
export class JsonPrinter implements Printer {
  constructor(private readonly out: (text: string) => void) {}

  report(r: Report): void {
    this.out(json(r));
  }

  records<T>(_columns: readonly Column<T>[], rows: readonly T[], opts: { value?: unknown } = {}): void {
    this.out(json(opts.value ?? rows));
  }

  result(_sentence: string, value: unknown): void {
    this.out(json(value));
  }

  document(_text: string, value: unknown): void {
    this.out(json(value));
  }
}
