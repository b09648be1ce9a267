/**
 * What the CLI prints, as etcdctl's printer.go does it: one interface, one printer per output form. The
 * table printer is for people (tables, sentences), the JSON printer for programs (`--json`: one JSON
 * document on stdout). Commands say what to show; how it looks is decided here. Progress goes to stderr
 * and is not a printer's business.
 */
import type { CertificateReport, Report } from '../runtime/verify';

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

/** A certificate's expiry as a cell: the date and the whole days left (`2028-02-20 (818d)`, `2026-01-02 (expired)`). */
export function expiryCell(notAfter: string | undefined, daysLeft: number | undefined): string {
  if (!notAfter) return '-';
  const date = notAfter.slice(0, 10);
  return daysLeft === undefined ? date : daysLeft < 0 ? `${date} (expired)` : `${date} (${daysLeft}d)`;
}

/**
 * The members as etcdctl's `member list -w table` shows them; METRICS, ALARMS and CERT-EXPIRES (the
 * certificate each member serves) only when some member has them.
 */
export function membersTable(r: Pick<Report, 'members'>): string {
  const withMetrics = r.members.some((m) => m.metrics);
  const withAlarms = r.members.some((m) => m.alarms?.length);
  const withCerts = r.members.some((m) => m.certificateExpires);
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
    ...(withCerts ? ['CERT-EXPIRES'] : []),
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
    ...(withCerts ? [expiryCell(m.certificateExpires, m.certificateDaysLeft)] : []),
  ]);
  return table(header, rows);
}

const USE_CELL: Record<CertificateReport['use'], string> = {
  ca: 'CA (trusted by all)',
  'server-peer': 'server, peer',
  server: 'server',
  client: 'client (verifier)',
  upstream: 'client (grpc-proxies)',
};

/** Every certificate of a TLS cluster: what it is for, who presents it, when it expires, and where it was seen. */
export function certificatesTable(certs: readonly CertificateReport[]): string {
  return table(
    ['CERTIFICATE', 'USE', 'PRESENTED BY', 'EXPIRES', 'STATE', 'SEEN', 'SUBJECT'],
    certs.map((c) => [
      c.file,
      USE_CELL[c.use],
      c.members.join(',') || '-',
      expiryCell(c.notAfter, c.daysLeft),
      c.state,
      c.source ?? '-',
      c.subject ?? c.error ?? '-',
    ]),
  );
}

/** One line on the certificates when all is well: how many, and which expires first. */
export function certificatesLine(certs: readonly CertificateReport[]): string {
  const first = certs.filter((c) => c.notAfter).sort((a, b) => Date.parse(a.notAfter!) - Date.parse(b.notAfter!))[0];
  return `certificates: ${certs.length}${first ? `; the first to expire is ${first.file} on ${first.notAfter!.slice(0, 10)}, in ${first.daysLeft} days` : ''}\n`;
}

export function summary(r: Report): string {
  const verdict = r.ok ? 'matches the spec' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`;
  const lines = [`cluster ${r.cluster}: ${verdict} (${r.attempts} look${r.attempts === 1 ? '' : 's'}, ${(r.elapsedMs / 1000).toFixed(1)}s)`];
  for (const p of r.problems) lines.push(`  - ${p.subject}: ${p.message}`);
  return lines.join('\n') + '\n' + warningLines(r);
}

/** With a backup store: what reached it, as the backup container last said. */
export function storeLine(r: Pick<Report, 'backupStore'>): string {
  const s = r.backupStore;
  return s ? `backup store: revision ${s.revision} stored (reported ${s.at})${s.behindSince ? `, behind since ${s.behindSince}` : ''}\n` : '';
}

/** Warnings: they do not fail verification, but each is a line of its own. */
export function warningLines(r: Pick<Report, 'warnings'>): string {
  return (r.warnings ?? []).map((w) => `warning: ${w.subject}: ${w.message}\n`).join('');
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
    const certs = r.certificates ?? [];
    if (lead === 'verdict') {
      // A deploy's hook prints this: the whole certificate table only when one needs attention.
      const attention = certs.some((c) => c.state !== 'ok');
      this.out(
        summary(r) +
          (r.ok ? '' : '\n' + membersTable(r)) +
          (attention ? '\n' + certificatesTable(certs) : certs.length ? certificatesLine(certs) : '') +
          storeLine(r),
      );
    } else {
      this.out(membersTable(r) + (certs.length ? '\n' + certificatesTable(certs) : '') + storeLine(r) + (r.ok ? warningLines(r) : '\n' + summary(r)));
    }
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
