/**
 * What an error of the etcd client that reached the CLI means, for its exit code: the cluster could not be
 * reached, the login was refused (the password, an environment variable), or the cluster answered with an
 * error. Loaded by lib/cli/errors.ts only when a command failed in a way it did not name itself.
 */
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import * as etcd from 'etcd3/lib/errors';

export type EtcdCause = 'unreachable' | 'login' | 'answered';

export function etcdCause(e: unknown): EtcdCause | undefined {
  if (!(e instanceof Error)) return undefined;
  if (
    etcd.isRecoverableError(e) ||
    e instanceof etcd.GRPCDeadlineExceededError ||
    e instanceof etcd.GRPCCancelledError ||
    e instanceof etcd.ClientClosedError ||
    e instanceof BrokenCircuitError ||
    e instanceof TaskCancelledError
  ) {
    return 'unreachable';
  }
  if (
    e instanceof etcd.EtcdAuthenticationFailedError ||
    e instanceof etcd.EtcdInvalidAuthTokenError ||
    e instanceof etcd.GRPCUnauthenticatedError ||
    e instanceof etcd.EtcdPermissionDeniedError ||
    e instanceof etcd.EtcdUserNotFoundError
  ) {
    return 'login';
  }
  if (e instanceof etcd.GRPCGenericError || e instanceof etcd.EtcdError || e.constructor.name.startsWith('Etcd')) return 'answered';
  return undefined;
}
