/**
 * `etcd-cluster`: verify a live cluster against its expectation, or show its members.
 * Exit codes: 0 matches, 1 the live cluster differs, 2 bad input (one line on stderr, never a stack trace).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { InputError, loadExpectation, type ExpectationSource } from './expectation';
import { resolve } from 'node:path';
import { addMember, MEMBER_ENV, MembershipError, parseMemberOp, promoteMember, removeMember } from './membership';
import { PkiError } from './pki';
import { loadSpecFile, SpecError } from './spec';
import { buildTopology } from './topology';
import type { Expectation } from './topology';
import { enableAuth, inspectCluster, verifyCluster, type MemberReport, type Report } from './verify';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress then rewrites one line). */
  readonly tty: boolean;
}

const EXIT_MISMATCH = 1;
const EXIT_USAGE = 2;

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError(`expected seconds between 0 and 3600, got "${value}"`);
  return n;
}

/** A plain text table: one header row, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function memberRows(members: MemberReport[]): string[][] {
  return members.map((m) => [
    m.name,
    m.role,
    m.state,
    m.id ?? '-',
    m.endpoint ?? '-',
    m.role === 'primary' ? m.clientUrl ?? '-' : '-',
    m.peerUrl ?? '-',
    m.ttlSeconds !== undefined ? `${m.ttlSeconds}s` : m.raftIndex !== undefined ? `raft ${m.raftIndex}` : '-',
  ]);
}

function membersTable(r: Pick<Report, 'members'>): string {
  return table(['NAME', 'ROLE', 'STATE', 'ID', 'ENDPOINT', 'CLIENT-URL', 'PEER-URL', 'TTL/INDEX'], memberRows(r.members));
}

function summary(r: Report): string {
  const lines = [`cluster ${r.cluster}: ${r.ok ? 'matches the spec' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`} (${r.attempts} look${r.attempts === 1 ? '' : 's'}, ${(r.elapsedMs / 1000).toFixed(1)}s)`];
  for (const p of r.problems) lines.push(`  - ${p.subject}: ${p.message}`);
  return lines.join('\n') + '\n';
}

function progressLine(r: Report): string {
  const first = r.problems[0];
  const more = r.problems.length > 1 ? ` (+${r.problems.length - 1} more)` : '';
  return `waiting for ${r.cluster} (${(r.elapsedMs / 1000).toFixed(1)}s): ${first ? `${first.subject}: ${first.message}` : 'checking'}${more}`;
}

/** The root password of a cluster with auth, from the environment variable its spec names. */
function passwordFor(e: Expectation, env: NodeJS.ProcessEnv): string | undefined {
  if (!e.auth) return undefined;
  const password = env[e.auth.passwordEnv];
  if (!password) throw new InputError(`auth: set ${e.auth.passwordEnv} to the root password of cluster ${e.cluster}`);
  return password;
}

function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--stack <dir>', 'a synthesized stack directory, e.g. cdktf.out/stacks/<name>')
    .option('--spec <file>', 'a cluster spec file (cluster.yaml)')
    .option('--cluster <name>', 'which cluster, when the stack holds several')
    .option('--json', 'print JSON for programs instead of a table');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('etcd-cluster')
    .description('Checks a live etcd cluster made by cdktf-etcd-cluster against its declared topology.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(false);

  addSourceOptions(
    program
      .command('verify')
      .description('wait until the live cluster matches the spec; exit 0 if it does, 1 with a report if not')
      .addOption(new Option('--timeout <seconds>', 'give up after this many seconds').argParser(seconds).default(60))
      .option('--enable-auth', 'with auth in the spec: create the root user and enable authentication first (the hook does)'),
  ).action(async (opts: ExpectationSource & { json?: boolean; timeout: number; enableAuth?: boolean }) => {
    const expectation = loadExpectation(opts, io.env);
    const password = passwordFor(expectation, io.env);
    const started = Date.now();
    if (opts.enableAuth) {
      if (!expectation.auth) throw new InputError('--enable-auth: the spec has no auth section');
      const done = await enableAuth(expectation, { timeoutMs: opts.timeout * 1000, password: password! });
      io.err(`authentication ${done}\n`);
    }
    let lastProgress = 0;
    const report = await verifyCluster(expectation, {
      password,
      timeoutMs: Math.max(1, opts.timeout * 1000 - (Date.now() - started)),
      onProgress: (r) => {
        // At most one line a second; a terminal gets it rewritten in place.
        if (r.elapsedMs - lastProgress < 1000) return;
        lastProgress = r.elapsedMs;
        io.err(io.tty ? `\r\x1b[K${progressLine(r)}` : `${progressLine(r)}\n`);
      },
    });
    if (io.tty && lastProgress) io.err('\r\x1b[K');
    if (opts.json) io.out(JSON.stringify(report, null, 2) + '\n');
    else io.out(summary(report) + (report.ok ? '' : '\n' + membersTable(report)));
    exitCode = report.ok ? 0 : EXIT_MISMATCH;
  });

  addSourceOptions(program.command('members').description('show every declared and live member, once, without waiting')).action(
    async (opts: ExpectationSource & { json?: boolean }) => {
      const expectation: Expectation = loadExpectation(opts, io.env);
      const started = Date.now();
      const look = await inspectCluster(expectation, { password: passwordFor(expectation, io.env) });
      const report: Report = { ...look, attempts: 1, elapsedMs: Date.now() - started };
      if (opts.json) io.out(JSON.stringify(report, null, 2) + '\n');
      else {
        io.out(membersTable(report));
        if (!report.ok) io.out('\n' + summary(report));
      }
      exitCode = report.ok ? 0 : EXIT_MISMATCH;
    },
  );

  if (argv.length === 0) {
    io.err(program.helpInformation());
    return EXIT_USAGE;
  }
  // Membership hooks: the member comes from ETCD_CLUSTER_MEMBER, which the hooks set from their input.
  const member = program.command('member').description('change the voting members one at a time (run by the membership hooks)');
  const memberAction = (verb: 'add' | 'promote' | 'remove') => async (opts: { timeout?: number }) => {
    const op = parseMemberOp(io.env[MEMBER_ENV], MEMBER_ENV);
    const password = op.auth ? io.env[op.auth.passwordEnv] : undefined;
    if (op.auth && !password) throw new InputError(`auth: set ${op.auth.passwordEnv} to the root password of cluster ${op.cluster}`);
    try {
      const done =
        verb === 'add' ? await addMember(op, password) : verb === 'promote' ? await promoteMember(op, (opts.timeout ?? 60) * 1000, password) : await removeMember(op, password);
      io.out(`${op.cluster}: ${done}\n`);
    } catch (e) {
      if (!(e instanceof MembershipError)) throw e;
      io.err(`etcd-cluster: ${e.message}\n`);
      exitCode = EXIT_MISMATCH;
    }
  };
  member.command('add').description('add the member as a learner, unless it is one already').action(memberAction('add'));
  member
    .command('promote')
    .description('promote the learner once it has caught up')
    .addOption(new Option('--timeout <seconds>', 'give up after this many seconds').argParser(seconds).default(60))
    .action(memberAction('promote'));
  member.command('remove').description('remove the member, unless it is gone already').action(memberAction('remove'));

  program
    .command('pki')
    .description("make the CA and certificates a TLS cluster needs; keeps what exists, adds what is missing")
    .requiredOption('--spec <file>', 'the cluster spec (its tls.dir is where files go unless --out says otherwise)')
    .option('--out <dir>', 'directory to write to')
    .option('--days <n>', 'validity of new certificates in days', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError(`expected 1 to 3650 days, got "${v}"`);
      return n;
    }, 825)
    .action(async (opts: { spec: string; out?: string; days: number }) => {
      const spec = loadSpecFile(opts.spec);
      const dir = opts.out ? resolve(opts.out) : spec.tls?.dir;
      if (!dir) throw new InputError(`${opts.spec}: has no tls.dir; add one, or pass --out <dir>`);
      const topology = buildTopology({ ...spec, tls: { dir } });
      const { ensurePki } = await import('./pki-make');
      const r = await ensurePki(dir, topology.tls!.nodes, opts.days);
      io.out(`${dir}: created ${r.created.length ? r.created.join(', ') : 'nothing'}; kept ${r.kept.length} existing\n`);
      io.out('private keys (*.key, ca.key) stay in this directory: keep it out of version control\n');
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.code === 'commander.executeSubCommandAsync') return 0;
      io.err(`etcd-cluster: ${e.message.replace(/^error: /, '').split('\n')[0]}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof InputError || e instanceof SpecError || e instanceof PkiError) {
      io.err(`etcd-cluster: ${e.message}\n`);
      return EXIT_USAGE;
    }
    io.err(`etcd-cluster: unexpected failure: ${(e as Error)?.message ?? String(e)}\n`);
    return EXIT_USAGE;
  }
}

/** The `bin` entry. */
export function main(): void {
  runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    tty: Boolean(process.stderr.isTTY),
  }).then((code) => {
    // Exit now rather than when the event loop drains: gRPC keeps reconnecting to a member that does not
    // answer (a host cut off the network), which would hold the process long after the verdict. Both
    // streams are flushed first.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
