/**
 * `etcd-cluster`: verify a live cluster against its expectation, show its members, keep it running (defrag,
 * compact, alarms, snapshots, rollout), change the voting members (the membership hooks run it), and make
 * the certificates of a TLS cluster. One file per command under commands/ (registered in
 * commands/index.ts); shared options in options.ts; which cluster a command works on in sources.ts;
 * printers in printers.ts; exit codes in exit-codes.ts. Bad input is one line on stderr, never a stack trace.
 *
 * Only what every command needs is loaded up front (the hook's verify starts a fresh process each time):
 * the model, the YAML parser and the etcd client come in with the commands that use them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { register, type CommandSpec } from './command';
import { COMMANDS } from './commands';
import { failure } from './errors';
import { EXIT, EXIT_CODES_HELP } from './exit-codes';
import { askOn, type CliIo } from './io';

export { table } from './printers';
export { EXIT } from './exit-codes';
export type { CliIo } from './io';

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

/** Runs `etcd-cluster` with these arguments; `commands` defaults to every command of commands/index.ts. */
export async function runCli(argv: string[], io: CliIo, commands: readonly CommandSpec<never>[] = COMMANDS): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = new Command('etcd-cluster')
    .description('Checks a live etcd cluster made by cdktf-etcd-cluster against its declared topology.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(false)
    .enablePositionalOptions()
    .version(packageVersion(), '-V, --version', 'print the version of cdktf-etcd-cluster')
    .addHelpText('after', EXIT_CODES_HELP);
  for (const spec of commands) register(program, spec as CommandSpec<unknown>, io, (code) => (exitCode = code));

  if (argv.length === 0) {
    io.err(program.helpInformation() + EXIT_CODES_HELP);
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    return await failure(e, io);
  }
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
    ...(process.stdin.isTTY ? { ask: (question: string) => askOn(process.stdin, process.stderr, question) } : {}),
  }).then((code) => {
    // Exit now rather than when the event loop drains: gRPC keeps reconnecting to a member that does not
    // answer (a host cut off the network), which would hold the process long after the verdict. Both
    // streams are flushed first.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
