/**
 * Failures of the runtime that the CLI turns into exit codes (lib/cli/errors.ts maps each class to one);
 * kept apart so that the CLI can name them without loading etcd3.
 */

/**
 * A change refused (or impossible) in the cluster's current state, or a cluster that answered and is not
 * as expected; the message says what to do. Exit code 1.
 */
export class MembershipError extends Error {}

/** No member of the cluster answered: nothing could be checked or changed. Exit code 3. */
export class ClusterUnreachable extends Error {
  constructor(
    message: string,
    /** What each member said, when they were asked (`<name>: <error>; ...`). */
    readonly details?: string,
  ) {
    super(message);
  }
}

/** A Docker host could not be asked (the leftover-volume check, the list of backups). Exit code 4. */
export class DockerHostError extends Error {}

/** Terraform (or the command that synthesizes the stack) failed; its last lines are in the message. Exit code 4. */
export class TerraformFailed extends Error {}

/** A file the command would write exists already. Exit code 2. */
export class TargetExists extends Error {}

/**
 * A recovery refused before anything changed because of the cluster's state (its quorum is intact, no
 * survivor and no snapshot, another operation in progress, ...). Exit code 1, as any refusal in the
 * cluster's current state.
 */
export class RecoveryRefused extends Error {}

/**
 * What the command was asked names something that is not there, or is missing (a flag's value, an
 * environment variable, a file the spec names): bad input found only once the runtime looked. Exit code 2.
 */
export class InvalidRequest extends Error {}

/** A change that was not confirmed (no terminal to ask on and no --yes, or an answer other than yes): nothing changed. Exit code 2. */
export class NotConfirmed extends Error {}
