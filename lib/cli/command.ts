/**
 * What a command of `etcd-cluster` is: one file under commands/ that exports a `defineCommand(...)`,
 * registered by one line in commands/index.ts. The command declares which shared options it takes
 * (options.ts), which spec sections it cannot work without, and whether it asks before changing anything;
 * it gets a context: the printer its `--json` chose, the cluster by the one rule (sources.ts), the root
 * password, the question to ask (`--yes` answers it), and lines for stderr. It throws the error class of a
 * failure's cause; errors.ts turns that into one line and the exit code (exit-codes.ts).
 *
 * Keep the hook's start-up fast: a command file imports the runtime only inside `run`
 * (`await import('../../runtime/...')`); type imports are free.
 */
import type { Command } from 'commander';
import type { Expectation, Target } from '../contract';
import { NotConfirmed } from '../runtime/errors';
import { InputError } from './errors';
import type { CliIo } from './io';
import { jsonOption, sourceOptions, timeoutOption, yesOption, type SourceOptions } from './options';
import { JsonPrinter, TablePrinter, type Printer } from './printers';
import { loadExpectation, loadStack } from './sources';

export interface CommandSpec<O> {
  /** The words that call it: `['verify']`, `['alarm', 'list']` (a group and its verb). */
  readonly path: readonly string[];
  readonly description: string;
  /** A group's own description, given by its first command (`alarm`: "list or disarm ..."). */
  readonly groupDescription?: string;
  /** Positional arguments, as commander writes them (`<file>`), with their description. */
  readonly arguments?: readonly (readonly [string, string])[];
  /** Takes the source options (`--stack`, `--spec`, `--cluster`): it works on a cluster. @default true */
  readonly source?: boolean;
  /** Takes `--json`. @default true */
  readonly json?: boolean;
  /**
   * Spec sections it cannot work without (`backups` needs `backup`): a cluster whose spec has none is bad
   * input (exit code 2), one line naming the section, before the command does anything.
   */
  readonly needs?: readonly Section[];
  /** It changes the cluster and asks first (`ctx.confirm`): takes `--yes`, which answers for scripts. @default false */
  readonly confirms?: boolean;
  /** Takes `--timeout <seconds>`: its default and what it bounds. */
  readonly timeout?: { readonly seconds: number; readonly description: string };
  /** Its own options. */
  readonly options?: (cmd: Command) => Command;
  /** Does the work; returns the exit code (0 when it returns nothing). */
  readonly run: (ctx: CommandContext<O>) => Promise<number | void> | number | void;
}

/** What every command gets. */
export interface CommandContext<O> {
  readonly io: CliIo;
  /** Its options: the shared ones and its own. */
  readonly opts: O & SourceOptions & { readonly json?: boolean; readonly timeout?: number; readonly yes?: boolean };
  /** Its positional arguments. */
  readonly args: readonly string[];
  /** The table printer, or the JSON printer with `--json`. */
  readonly printer: Printer;
  /** The cluster it works on, by the one rule (sources.ts); a default choice is said on stderr. */
  cluster(): Promise<Expectation>;
  /** A stack directory and its cluster, for a command that runs Terraform there. */
  stack(): Promise<{ dir: string; expectation: Expectation }>;
  /** The root password of a cluster with `auth`, from the variable its spec names; undefined without auth. */
  password(target: Pick<Target, 'auth' | 'cluster'>): string | undefined;
  /**
   * Asks `question` on the terminal (what will change is on stderr already): true for y/yes, or with
   * `--yes`. With no terminal and no `--yes` it refuses: NotConfirmed, exit code 2, "pass --yes to <action>".
   */
  confirm(question: string, refusal: { readonly cluster: string; readonly action: string }): Promise<boolean>;
  /** A line on stderr about what the command chose or does, prefixed `etcd-cluster: `. */
  say(line: string): void;
  /** A progress line on stderr, as it is. */
  progress(line: string): void;
}

/** The spec sections a command may need, and how a cluster shows it has one. */
export type Section = 'backup' | 'metrics' | 'tls' | 'auth';

const SECTIONS: Record<Section, { readonly has: (e: Expectation) => boolean; readonly example: string }> = {
  backup: { has: (e) => Boolean(e.backup), example: 'backup: { every: 1h, keep: 24 }' },
  metrics: { has: (e) => [...e.target.primaries, ...e.secondaries].some((m) => m.metrics), example: 'metrics: {}' },
  tls: { has: (e) => Boolean(e.target.tls), example: 'tls: { dir: pki }' },
  auth: { has: (e) => Boolean(e.target.auth), example: 'auth: {}' },
};

/** Bad input (exit code 2) when the cluster lacks a section the command needs. */
export function checkSections(words: readonly string[], e: Expectation, needs: readonly Section[] = []): Expectation {
  for (const section of needs) {
    if (!SECTIONS[section].has(e))
      throw new InputError(
        `${words.join(' ')}: cluster ${e.target.cluster} has no ${section} section in its spec; add one (e.g. ${SECTIONS[section].example}) and deploy it`,
      );
  }
  return e;
}

/** A command of `etcd-cluster`; its options type is what `run` reads from `ctx.opts`. */
export function defineCommand<O = Record<string, never>>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** Adds the command under `program` (creating its group on first use); `done` gets the exit code. */
export function register(program: Command, spec: CommandSpec<unknown>, io: CliIo, done: (code: number) => void): void {
  let parent = program;
  for (const word of spec.path.slice(0, -1)) {
    parent = parent.commands.find((c) => c.name() === word) ?? parent.command(word).description(spec.groupDescription ?? '');
    // A command that is also a group (`pki`, and `pki renew`): its own options count only before the verb,
    // so that `pki renew --spec x` gives --spec to renew (the program enables the same).
    parent.enablePositionalOptions();
  }
  let cmd = parent.command(spec.path[spec.path.length - 1]).description(spec.description);
  for (const [name, description] of spec.arguments ?? []) cmd = cmd.argument(name, description);
  if (spec.timeout) cmd = timeoutOption(cmd, spec.timeout.seconds, spec.timeout.description);
  if (spec.options) cmd = spec.options(cmd);
  if (spec.confirms) cmd = yesOption(cmd);
  if (spec.source ?? true) cmd = sourceOptions(cmd);
  if (spec.json ?? true) cmd = jsonOption(cmd);
  cmd.action(async (...given: unknown[]) => {
    // commander passes the positional arguments, then the options, then the command.
    const opts = given[given.length - 2] as CommandContext<unknown>['opts'];
    const args = given.slice(0, -2) as string[];
    const say = (line: string) => io.err(`etcd-cluster: ${line}\n`);
    const cwd = io.cwd ?? process.cwd();
    const ctx: CommandContext<unknown> = {
      io,
      opts,
      args,
      printer: opts.json ? new JsonPrinter(io.out) : new TablePrinter(io.out),
      cluster: async () => checkSections(spec.path, await loadExpectation(opts, io.env, say, cwd), spec.needs),
      stack: async () => {
        const s = await loadStack(opts, io.env, say, cwd);
        checkSections(spec.path, s.expectation, spec.needs);
        return s;
      },
      password: (target) => {
        if (!target.auth) return undefined;
        const password = io.env[target.auth.passwordEnv];
        if (!password) throw new InputError(`auth: set ${target.auth.passwordEnv} to the root password of cluster ${target.cluster}`);
        return password;
      },
      confirm: async (question, refusal) => {
        if (opts.yes) return true;
        if (!io.ask)
          throw new NotConfirmed(`${refusal.cluster}: there is no terminal to ask for confirmation; pass --yes to ${refusal.action} (nothing changed)`);
        return /^y(es)?$/i.test((await io.ask(`${question} [y/N] `)).trim());
      },
      say,
      progress: (line) => io.err(`${line}\n`),
    };
    done((await spec.run(ctx)) ?? 0);
  });
}
