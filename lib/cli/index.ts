/**
 * `etcd-cluster`: verify a live cluster against its expectation, show its members, change the voting
 * members (the membership hooks run it), and make the certificates of a TLS cluster. Exit codes are in
 * exit-codes.ts; bad input is one line on stderr, never a stack trace.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ContractError, MEMBER_ENV, parseMemberOp, type Expectation } from '../contract';
// Only what every command needs is loaded up front (the hook's verify starts a fresh process each time);
// the model, the YAML parser and the etcd client come in with the commands that use them.
import { DEFAULTS } from '../model/defaults';
import { SpecError } from '../model/messages';
import { PkiError } from '../model/pki';
import { readSnapshot, SnapshotError } from '../model/snapshot';
import { ClusterUnreachable, DockerHostError, MembershipError, TargetExists } from '../runtime/errors';
import { EXIT, EXIT_CODES_HELP } from './exit-codes';
import { registerNetworkCommands } from './network';
import { json, membersTable, progressLine, scrapeConfig, scrapeConfigYaml, summary, table } from './printers';
import { InputError, loadExpectation, type ExpectationSource } from './sources';

export { table } from './printers';
export { EXIT } from './exit-codes';

const hex = (id: string) => BigInt(id).toString(16);

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress then rewrites one line). */
  readonly tty: boolean;
}

/** The one synthesized stack under ./cdktf.out/stacks. */
function theOnlyStack(): string {
  const root = resolve('cdktf.out', 'stacks');
  const stacks = existsSync(root) ? readdirSync(root).filter((n) => existsSync(join(root, n, 'cdk.tf.json'))) : [];
  if (stacks.length !== 1) throw new InputError(`--stack: give the stack directory (found ${stacks.length} under cdktf.out/stacks; run cdktf synth first)`);
  return join(root, stacks[0]);
}

/** This package's version, from the package.json above the running file (compiled or not). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'cdktf-etcd-cluster' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError(`expected seconds between 0 and 3600, got "${value}"`);
  return n;
}

/** The root password of a cluster with auth, from the environment variable its spec names. */
function passwordFor(e: { auth: Expectation['auth']; cluster: string }, env: NodeJS.ProcessEnv): string | undefined {
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
  let exitCode: number = EXIT.OK;
  const program = new Command('etcd-cluster')
    .description('Checks a live etcd cluster made by cdktf-etcd-cluster against its declared topology.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(false)
    .version(packageVersion(), '-V, --version', 'print the version of cdktf-etcd-cluster')
    .addHelpText('after', EXIT_CODES_HELP);

  addSourceOptions(
    program
      .command('verify')
      .description('wait until the live cluster matches the spec; exit 0 if it does, 1 with a report if not')
      .addOption(new Option('--timeout <seconds>', 'give up after this many seconds').argParser(seconds).default(DEFAULTS.verifyTimeoutSeconds))
      .option('--enable-auth', 'with auth in the spec: create the root user and enable authentication first (the hook does)'),
  ).action(async (opts: ExpectationSource & { json?: boolean; timeout: number; enableAuth?: boolean }) => {
    const expectation = await loadExpectation(opts, io.env, (line) => io.err(`etcd-cluster: ${line}\n`));
    const password = passwordFor(expectation, io.env);
    const started = Date.now();
    if (opts.enableAuth) {
      if (!expectation.auth) throw new InputError('--enable-auth: the spec has no auth section');
      const { enableAuth } = await import('../runtime/verify');
      const done = await enableAuth(expectation, { timeoutMs: opts.timeout * 1000, password: password! });
      io.err(`authentication ${done}\n`);
    }
    let lastProgress = 0;
    const { verifyCluster } = await import('../runtime/verify');
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
    io.out(opts.json ? json(report) : summary(report) + (report.ok ? '' : '\n' + membersTable(report)));
    exitCode = report.ok ? EXIT.OK : report.reachable ? EXIT.MISMATCH : EXIT.UNAVAILABLE;
  });

  addSourceOptions(program.command('members').description('show every declared and live member, once, without waiting')).action(
    async (opts: ExpectationSource & { json?: boolean }) => {
      const expectation = await loadExpectation(opts, io.env, (line) => io.err(`etcd-cluster: ${line}\n`));
      const started = Date.now();
      const { inspectCluster } = await import('../runtime/verify');
      const look = await inspectCluster(expectation, { password: passwordFor(expectation, io.env) });
      const report = { ...look, attempts: 1, elapsedMs: Date.now() - started };
      io.out(opts.json ? json(report) : membersTable(report) + (report.ok ? '' : '\n' + summary(report)));
      exitCode = report.ok ? EXIT.OK : report.reachable ? EXIT.MISMATCH : EXIT.UNAVAILABLE;
    },
  );

  const say = (line: string) => io.err(`etcd-cluster: ${line}\n`);
  addSourceOptions(
    program
      .command('defrag')
      .description('defragment every primary, one at a time: followers first, the leader last, the cluster healthy between')
      .addOption(new Option('--timeout <seconds>', 'how long each member may take to answer again').argParser(seconds).default(DEFAULTS.verifyTimeoutSeconds)),
  ).action(async (opts: ExpectationSource & { json?: boolean; timeout: number }) => {
    const e = await loadExpectation(opts, io.env, say);
    const { defragment } = await import('../runtime/maintenance');
    const steps = await defragment(e, { password: passwordFor(e, io.env), timeoutMs: opts.timeout * 1000, onStep: (line) => io.err(`${line}\n`) });
    io.out(
      opts.json
        ? json(steps)
        : table(
            ['MEMBER', 'ROLE', 'BEFORE', 'AFTER'],
            steps.map((s) => [s.member, s.role, `${s.beforeBytes}`, `${s.afterBytes}`]),
          ),
    );
  });
  addSourceOptions(
    program.command('compact').description('compact the key-value history up to the current revision (what auto-compaction does on its schedule)'),
  ).action(async (opts: ExpectationSource & { json?: boolean }) => {
    const e = await loadExpectation(opts, io.env, say);
    const { compact } = await import('../runtime/maintenance');
    const revision = await compact(e, { password: passwordFor(e, io.env) });
    io.out(opts.json ? json({ cluster: e.cluster, compactedTo: revision }) : `${e.cluster}: compacted up to revision ${revision}\n`);
  });
  const alarm = program.command('alarm').description("list or disarm etcd's alarms (NOSPACE, CORRUPT): alarm list | disarm");
  for (const verb of ['list', 'disarm'] as const) {
    addSourceOptions(
      alarm.command(verb).description(verb === 'list' ? 'list the active alarms' : 'deactivate every active alarm (after making room: compact, defrag)'),
    ).action(async (opts: ExpectationSource & { json?: boolean }) => {
      const e = await loadExpectation(opts, io.env, say);
      const m = await import('../runtime/maintenance');
      const list = await (verb === 'list' ? m.alarms : m.disarm)(e, { password: passwordFor(e, io.env) });
      if (opts.json) io.out(json(list));
      else if (!list.length) io.out(`${e.cluster}: no active alarm\n`);
      else
        io.out(
          (verb === 'disarm' ? `${e.cluster}: disarmed\n` : '') +
            table(
              ['MEMBER', 'ID', 'ALARM'],
              list.map((a) => [a.member, hex(a.memberId), a.alarm]),
            ),
        );
    });
  }
  addSourceOptions(program.command('scrape-config').description('print a Prometheus scrape configuration for the metrics endpoints (spec: metrics)')).action(
    async (opts: ExpectationSource & { json?: boolean }) => {
      const e = await loadExpectation(opts, io.env, say);
      if (![...e.primaries, ...e.secondaries].some((m) => m.metrics))
        throw new InputError(`cluster ${e.cluster} has no metrics endpoints; add a metrics section to its spec`);
      io.out(opts.json ? json({ scrape_configs: [scrapeConfig(e)] }) : await scrapeConfigYaml(e));
    },
  );

  program
    .command('rollout')
    .description(
      'apply a synthesized stack whose primaries change one member at a time: followers first, the leader last, each back and caught up before the next',
    )
    .option('--stack <dir>', 'the synthesized stack directory (default: the one under cdktf.out/stacks)')
    .option('--cluster <name>', 'which cluster, when the stack holds several')
    .addOption(new Option('--timeout <seconds>', 'how long each member may take to come back and catch up').argParser(seconds).default(120))
    .option('--json', 'print JSON for programs instead of a table')
    .action(async (opts: { stack?: string; cluster?: string; timeout: number; json?: boolean }) => {
      const dir = opts.stack ? resolve(opts.stack) : theOnlyStack();
      const e = await loadExpectation({ stack: dir, cluster: opts.cluster }, io.env, say);
      const { rollout } = await import('../runtime/rollout');
      const r = await rollout(e, { dir, memberTimeoutMs: opts.timeout * 1000, password: passwordFor(e, io.env), say: (line) => io.err(`${line}\n`) });
      io.out(
        opts.json
          ? json(r)
          : `${r.cluster}: rolled ${r.steps.length} primar${r.steps.length === 1 ? 'y' : 'ies'}${r.from && r.to && r.from !== r.to ? ` from etcd ${r.from} to ${r.to}` : ''}\n` +
              (r.steps.length
                ? table(
                    ['MEMBER', 'ROLE', 'CHANGE', 'SECONDS'],
                    r.steps.map((s) => [s.member, s.role, s.action, String(s.seconds)]),
                  )
                : ''),
      );
    });

  const snapshot = program.command('snapshot').description('take a snapshot of the cluster, or read one: snapshot save | status');
  addSourceOptions(
    snapshot
      .command('save')
      .description('save a consistent snapshot from a member that answers (the leader first), atomically')
      .argument('<file>', 'where to write it')
      .option('--force', 'replace the file if it exists'),
  ).action(async (file: string, opts: ExpectationSource & { json?: boolean; force?: boolean }) => {
    const e = await loadExpectation(opts, io.env, say);
    const { saveSnapshot } = await import('../runtime/snapshot');
    let shown = 0;
    const s = await saveSnapshot(e, resolve(file), {
      password: passwordFor(e, io.env),
      force: opts.force,
      onProgress: (bytes) => {
        if (!io.tty || bytes - shown < 1 << 20) return;
        shown = bytes;
        io.err(`\r\x1b[Kreceived ${bytes} bytes`);
      },
    });
    if (io.tty && shown) io.err('\r\x1b[K');
    io.out(
      opts.json
        ? json(s)
        : `${e.cluster}: snapshot taken from ${s.member}\n` +
            table(['FILE', 'REVISION', 'SIZE', 'SHA256'], [[file, String(s.revision), String(s.bytes), s.sha256]]),
    );
  });
  snapshot
    .command('status')
    .description('read a snapshot file: its revision, size and hash (what etcdutl snapshot status reports)')
    .argument('<file>', 'the snapshot')
    .option('--json', 'print JSON for programs instead of a table')
    .action((file: string, opts: { json?: boolean }) => {
      const info = readSnapshot(file, { sha256: true });
      io.out(
        opts.json
          ? json({ file, ...info })
          : table(
              ['FILE', 'REVISION', 'SIZE', 'SHA256', 'ETCD-HASH'],
              [[file, String(info.revision), String(info.bytes), info.sha256!, info.hashed ? 'appended' : 'none']],
            ),
      );
    });
  addSourceOptions(program.command('backups').description("list the snapshots the cluster's backup container has taken (spec: backup)")).action(
    async (opts: ExpectationSource & { json?: boolean }) => {
      const e = await loadExpectation(opts, io.env, say);
      const { listBackups } = await import('../runtime/snapshot');
      const list = await listBackups(e);
      if (opts.json) io.out(json(list));
      else if (!list.length) io.out(`${e.cluster}: no snapshot yet\n`);
      else
        io.out(
          table(
            ['FILE', 'TAKEN', 'REVISION', 'SIZE'],
            list.map((b) => [b.file, b.taken, String(b.revision), String(b.bytes)]),
          ),
        );
    },
  );

  // Membership hooks: the member comes from ETCD_CLUSTER_MEMBER, which the hooks set from their input.
  const member = program.command('member').description('change the voting members one at a time: member add | promote | remove (run by the membership hooks)');
  const memberAction = (verb: 'add' | 'promote' | 'remove') => async (opts: { timeout?: number }) => {
    const op = parseMemberOp(io.env[MEMBER_ENV], MEMBER_ENV);
    const password = passwordFor(op, io.env);
    const { addMember, promoteMember, removeMember } = await import('../runtime/membership');
    const done =
      verb === 'add'
        ? await addMember(op, password)
        : verb === 'promote'
          ? await promoteMember(op, (opts.timeout ?? DEFAULTS.verifyTimeoutSeconds) * 1000, password)
          : await removeMember(op, password);
    io.out(`${op.cluster}: ${done}\n`);
  };
  member.command('add').description('add the member as a learner, unless it is one already').action(memberAction('add'));
  member
    .command('promote')
    .description('promote the learner once it has caught up')
    .addOption(new Option('--timeout <seconds>', 'give up after this many seconds').argParser(seconds).default(DEFAULTS.verifyTimeoutSeconds))
    .action(memberAction('promote'));
  member.command('remove').description('remove the member, unless it is gone already').action(memberAction('remove'));

  program
    .command('pki')
    .description('make the CA and certificates a TLS cluster needs; keeps what exists, adds what is missing')
    .requiredOption('--spec <file>', 'the cluster spec (its tls.dir is where files go unless --out says otherwise)')
    .option('--out <dir>', 'directory to write to')
    .option(
      '--days <n>',
      'validity of new certificates in days',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError(`expected 1 to 3650 days, got "${v}"`);
        return n;
      },
      825,
    )
    .action(async (opts: { spec: string; out?: string; days: number }) => {
      const { buildTopology, loadSpecFile } = await import('../model');
      const spec = loadSpecFile(opts.spec);
      const dir = opts.out ? resolve(opts.out) : spec.tls?.dir;
      if (!dir) throw new InputError(`${opts.spec}: has no tls.dir; add one, or pass --out <dir>`);
      const topology = buildTopology({ ...spec, tls: { dir } });
      const { ensurePki } = await import('./pki-make');
      const r = await ensurePki(dir, topology.tls!.nodes, opts.days);
      io.out(`${dir}: created ${r.created.length ? r.created.join(', ') : 'nothing'}; kept ${r.kept.length} existing\n`);
      io.out('private keys (*.key, ca.key) stay in this directory: keep it out of version control\n');
    });

  registerNetworkCommands(program, io);

  if (argv.length === 0) {
    io.err(program.helpInformation() + EXIT_CODES_HELP);
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    return failure(e, io);
  }
}

/** One line on stderr for any failure, and the exit code of its cause. */
function failure(e: unknown, io: CliIo): number {
  if (e instanceof CommanderError) {
    if (['commander.helpDisplayed', 'commander.version', 'commander.help', 'commander.executeSubCommandAsync'].includes(e.code)) return EXIT.OK;
    io.err(`etcd-cluster: ${e.message.replace(/^error: /, '').split('\n')[0]}\n`);
    return EXIT.USAGE;
  }
  if (
    e instanceof InputError ||
    e instanceof SpecError ||
    e instanceof PkiError ||
    e instanceof ContractError ||
    e instanceof SnapshotError ||
    e instanceof TargetExists
  ) {
    io.err(`etcd-cluster: ${e.message}\n`);
    return EXIT.USAGE;
  }
  if (e instanceof MembershipError || e instanceof DockerHostError) {
    io.err(`etcd-cluster: ${e.message}\n`);
    return EXIT.MISMATCH;
  }
  if (e instanceof ClusterUnreachable) {
    io.err(`etcd-cluster: ${e.message}\n`);
    return EXIT.UNAVAILABLE;
  }
  io.err(`etcd-cluster: unexpected failure: ${(e as Error)?.message ?? String(e)}\n`);
  return EXIT.UNAVAILABLE;
}

/**
 * The `bin` entry, and the hook's: `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))' verify`
 * (the bundled CLI, found from the stack directory by Node's own resolution, without npx's start-up).
 */
export function main(argv: string[] = process.argv.slice(2)): void {
  runCli(argv, {
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
