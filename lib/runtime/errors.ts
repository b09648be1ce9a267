/** Failures of the runtime that the CLI turns into exit codes; kept apart so that the CLI can name them without loading etcd3. */

/** A change refused (or impossible) in the cluster's current state; the message says what to do. */
export class MembershipError extends Error {}

/** No member of the cluster answered: nothing could be checked or changed. */
export class ClusterUnreachable extends Error {
  constructor(
    message: string,
    /** What each member said, when they were asked (`<name>: <error>; ...`). */
    readonly details?: string,
  ) {
    super(message);
  }
}

/** A Docker host could not be asked (the leftover-volume check, the list of backups). */
export class DockerHostError extends Error {}

/** A file the command would write exists already. */
export class TargetExists extends Error {}

/** A recovery refused before anything changed (quorum intact, no survivor and no snapshot, ...): exit code 2. */
export class RecoveryRefused extends Error {}
