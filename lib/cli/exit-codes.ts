/**
 * Exit codes of `etcd-cluster`, one per cause (as etcdctl's error.go has them), the same for every command;
 * errors.ts maps each failure to one of them, `--help` and the README list them.
 */
export const EXIT = {
  /** The live cluster matches its expectation, or the command did what it was asked. */
  OK: 0,
  /** The cluster answered and differs from its expectation, or refused a change in its current state. */
  MISMATCH: 1,
  /**
   * Bad input: a flag, the spec (or a section the command needs missing from it), the stack, an environment
   * variable; or a change that was not confirmed. One line says which; nothing changed.
   */
  USAGE: 2,
  /** The cluster could not be reached: no member answered, so nothing could be checked or changed. */
  UNAVAILABLE: 3,
  /** A Docker host, Terraform or the command that synthesizes the stack failed; its last lines say why. */
  EXTERNAL: 4,
  /** An unexpected failure: a fault of etcd-cluster itself; the line says what failed. */
  INTERNAL: 5,
} as const;

export const EXIT_CODES_HELP = `
Exit codes (the same for every command):
  0  the cluster matches its expectation, or the command did what it was asked
  1  the cluster answered and differs, or refused a change in its current state (a report or one line says what),
     or a certificate of the cluster has expired (known without any member answering)
  2  bad input: a flag, the spec or a section a command needs missing from it, the stack, an environment
     variable; or a change not confirmed (no terminal and no --yes). One line says which; nothing changed
  3  the cluster could not be reached: no member answered
  4  a Docker host, Terraform or the synth command failed
  5  an unexpected failure of etcd-cluster itself

Which cluster (every command that takes --stack, --spec and --cluster):
  --stack <dir>, else --spec <file>, else the hook's ETCD_CLUSTER_EXPECTED, else ./cluster.yaml (or the file
  ETCD_CLUSTER_CONFIG names) as its synthesized stack cdktf.out/stacks/<name> declares it when there is one
  (what cdktf deploy applied last), else the spec itself, else the one stack under cdktf.out/stacks.
  --cluster <name> picks among several clusters of a stack. A choice made by default is said on stderr.
`;

/**
 * The exit code of a verifier's report: 0 when it matches; 1 when the cluster answered and differs, or a
 * certificate has expired (known without any member answering); 3 when nothing could be checked.
 */
export function exitOfReport(r: { ok: boolean; reachable: boolean; certificates?: readonly { state: string }[] }): number {
  if (r.ok) return EXIT.OK;
  return r.reachable || r.certificates?.some((c) => c.state === 'expired') ? EXIT.MISMATCH : EXIT.UNAVAILABLE;
}
