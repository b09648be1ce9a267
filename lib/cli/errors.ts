/**
 * How a failure ends `etcd-cluster`: one line on stderr and the exit code of its cause, never a stack trace.
 * Every error class maps to exactly one code here (exit-codes.ts says what each code means); a command
 * throws the class of its cause and never picks a code for a failure itself.
 */
import { CommanderError } from 'commander';
import { ContractError } from '../contract';
import { SpecError } from '../model/messages';
import { PkiError } from '../model/pki';
import { SnapshotError } from '../model/snapshot';
import {
  ClusterUnreachable,
  DockerHostError,
  InvalidRequest,
  MembershipError,
  NotConfirmed,
  RecoveryRefused,
  TargetExists,
  TerraformFailed,
} from '../runtime/errors';
import { EXIT } from './exit-codes';
import type { CliIo } from './io';

/** Bad input to the CLI: one line, exit code 2. */
export class InputError extends Error {}

type Code = (typeof EXIT)[keyof typeof EXIT];

/** Each error class and the code of its cause. */
const CAUSES: readonly (readonly [abstract new (...args: never[]) => Error, Code])[] = [
  // Bad input, found by the CLI, the model (a spec, certificates, a snapshot file), the contract (a stack, the
  // hooks' environment) or the runtime (a flag's value names nothing there); a change not confirmed.
  [InputError, EXIT.USAGE],
  [SpecError, EXIT.USAGE],
  [PkiError, EXIT.USAGE],
  [ContractError, EXIT.USAGE],
  [SnapshotError, EXIT.USAGE],
  [TargetExists, EXIT.USAGE],
  [InvalidRequest, EXIT.USAGE],
  [NotConfirmed, EXIT.USAGE],
  // The cluster answered: not as expected, or it refused the change in its current state.
  [MembershipError, EXIT.MISMATCH],
  [RecoveryRefused, EXIT.MISMATCH],
  // Nobody answered.
  [ClusterUnreachable, EXIT.UNAVAILABLE],
  // A tool the command drives failed.
  [DockerHostError, EXIT.EXTERNAL],
  [TerraformFailed, EXIT.EXTERNAL],
];

/** The exit code of a failure's cause (commander's usage errors included), and words that name the cause when the message does not. */
export async function causeOf(e: unknown): Promise<{ code: Code; prefix?: string }> {
  if (e instanceof CommanderError) return { code: EXIT.USAGE };
  for (const [cls, code] of CAUSES) if (e instanceof cls) return { code };
  // An error of the etcd client that no command turned into its own: its kind says the cause. Loaded only
  // now: the CLI does not load etcd3 before a command needs it.
  const { etcdCause } = await import('../runtime/etcd-errors');
  switch (etcdCause(e)) {
    case 'unreachable':
      return { code: EXIT.UNAVAILABLE, prefix: 'the cluster could not be reached: ' };
    case 'login':
      return { code: EXIT.USAGE, prefix: 'the cluster refused the login (is the root password right?): ' };
    case 'answered':
      return { code: EXIT.MISMATCH, prefix: 'the cluster answered with an error: ' };
    default:
      return { code: EXIT.INTERNAL, prefix: 'unexpected failure (a fault of etcd-cluster; please report it): ' };
  }
}

const HELP_CODES = ['commander.helpDisplayed', 'commander.version', 'commander.help', 'commander.executeSubCommandAsync'];

/** One line on stderr for any failure (Terraform's own last lines follow it), and the exit code of its cause. */
export async function failure(e: unknown, io: CliIo): Promise<number> {
  if (e instanceof CommanderError) {
    if (HELP_CODES.includes(e.code)) return EXIT.OK;
    io.err(`etcd-cluster: ${e.message.replace(/^error: /, '').split('\n')[0]}\n`);
    return EXIT.USAGE;
  }
  const { code, prefix } = await causeOf(e);
  const message = e instanceof Error ? e.message : String(e);
  io.err(`etcd-cluster: ${prefix ?? ''}${prefix ? message.split('\n')[0] : message}\n`);
  return code;
}
