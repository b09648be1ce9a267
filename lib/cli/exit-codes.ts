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
  1  the live cluster answered and differs from the spec, or refused a membership change, or a
     certificate of the cluster has expired
  2  bad input (a flag, the spec, the stack, an environment variable); one line says which
  3  nothing could be checked: no member answered, or an unexpected failure
`;

/**
 * The exit code of a verifier's report: 0 when it matches; 1 when the cluster answered and differs, or a
 * certificate has expired (known without any member answering); 3 when nothing could be checked.
 */
export function exitOfReport(r: { ok: boolean; reachable: boolean; certificates?: readonly { state: string }[] }): number {
  if (r.ok) return EXIT.OK;
  return r.reachable || r.certificates?.some((c) => c.state === 'expired') ? EXIT.MISMATCH : EXIT.UNAVAILABLE;
}
