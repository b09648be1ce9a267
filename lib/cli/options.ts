/**
 * The options several commands share, declared once: where the cluster comes from (`--stack`, `--spec`,
 * `--cluster`), `--json`, `--yes`, and `--timeout` (each command says its default and what it bounds).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

/** `--timeout` and the like: seconds, more than 0 and at most an hour. */
export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError(`expected seconds between 0 and 3600, got "${value}"`);
  return n;
}

/** `--warn-days`: whole days, 0 to 3650. */
export function days(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 3650) throw new InvalidArgumentError(`expected whole days from 0 to 3650, got "${value}"`);
  return n;
}

/** `--warn-days`, for the commands that show certificates (verify, members). */
export function warnDaysOption(cmd: Command): Command {
  return cmd.option('--warn-days <days>', "warn when a certificate expires within this many days (default: the spec's tls.expiryWarningDays, 30)", days);
}

/** The options every command that works on a cluster takes; sources.ts has the one rule that reads them. */
export interface SourceOptions {
  readonly stack?: string;
  readonly spec?: string;
  readonly cluster?: string;
}

export function sourceOptions(cmd: Command): Command {
  return cmd
    .option('--stack <dir>', 'a synthesized stack directory, e.g. cdktf.out/stacks/<name> (default: see "Which cluster" in etcd-cluster --help)')
    .option('--spec <file>', 'a cluster spec file, as edited (cluster.yaml)')
    .option('--cluster <name>', 'which cluster, when the stack holds several (e.g. two EtcdClusters in one stack)');
}

/** `--yes`: for a command that asks before it changes anything (`CommandSpec.confirms`). */
export function yesOption(cmd: Command): Command {
  return cmd.option('--yes', 'do not ask before changing anything (for scripts); without a terminal and without it, nothing changes (exit 2)');
}

export function jsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print JSON for programs instead of a table');
}

export function timeoutOption(cmd: Command, defaultSeconds: number, description: string): Command {
  return cmd.addOption(new Option('--timeout <seconds>', description).argParser(seconds).default(defaultSeconds));
}

/** `--days` of the pki commands: 1 to 3650. */
export function validityDays(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError(`expected 1 to 3650 days, got "${v}"`);
  return n;
}

/** The options every pki command takes: the spec, and another directory than its tls.dir. */
export const pkiOptions = (cmd: Command): Command =>
  cmd.option('--spec <file>', 'the cluster spec (its tls.dir is the PKI directory unless --out says otherwise)').option('--out <dir>', 'the PKI directory');
