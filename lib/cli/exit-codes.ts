/** Exit codes of `etcd-cluster`, one per cause (as etcdctl's error.go has them); `--help` and the README list them. */
export const EXIT = {
  /** The live cluster matches the spec (or the command did what it was asked). */
  OK: 0,
  /** The live cluster answered and differs from the spec, or refused a membership change in its current state. */
  MISMATCH: 1,
  /** Bad input: a flag, a spec, a stack or an environment variable; one line says which. */
  USAGE: 2,
  /** Nothing could be checked: no member answered, or an unexpected failure. */
  UNAVAILABLE: 3,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  the live cluster matches the spec (or the command did what it was asked)
  1  the live cluster answered and differs from the spec, or refused a membership change
  2  bad input (a flag, the spec, the stack, an environment variable); one line says which
  3  nothing could be checked: no member answered, or an unexpected failure
`;
