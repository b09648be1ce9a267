/** How a failure ends `etcd-cluster`: one line on stderr and the exit code of its cause, never a stack trace. */
import { CommanderError } from 'commander';
import { ContractError } from '../contract';
import { SpecError } from '../model/messages';
import { PkiError } from '../model/pki';
import { SnapshotError } from '../model/snapshot';
import { ClusterUnreachable, DockerHostError, MembershipError, RecoveryRefused, TargetExists } from '../runtime/errors';
import { EXIT } from './exit-codes';
import type { CliIo } from './io';

/** Bad input to the CLI: one line, exit code 2. */
export class InputError extends Error {}

/** One line on stderr for any failure, and the exit code of its cause. */
export function failure(e: unknown, io: CliIo): number {
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
    e instanceof TargetExists ||
    e instanceof RecoveryRefused
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
