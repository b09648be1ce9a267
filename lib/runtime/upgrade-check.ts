/**
 * `etcd-cluster upgrade-check`: what the verify hook runs when Terraform is about to replace it, which is
 * before Terraform replaces any primary's container (the hook depends on them all, and Terraform destroys a
 * resource's dependents before the resource). It asks the live primaries which etcd they run and refuses a
 * change of the primaries' image off etcd's documented path (upgrade-path.ts): a downgrade, more than one
 * minor release, a hop from below its floor, and any minor release in one apply (which restarts every
 * primary at once: `etcd-cluster rollout` does it one member at a time, and its own final apply finds every
 * member on the new version already). A refusal fails the apply before any container is touched.
 *
 * The hook's destroy-time provisioner sees only its own recorded input (the cluster as deployed); the new
 * image comes from the configuration Terraform applies, `cdk.tf.json` in the directory it runs in. A
 * configuration without the cluster (it is being removed) has nothing to compare.
 */
import type { Expectation } from '../contract';
import { MembershipError } from './errors';
import { withSession, type SessionOptions } from './session';
import { compareVersions, formatVersion, parseVersion, upgradeProblem, type Version } from './upgrade-path';

/** Skips the check (one line says so): for a `terraform destroy` of a cluster whose spec names a refused image. */
export const SKIP_UPGRADE_CHECK_ENV = 'ETCD_CLUSTER_SKIP_UPGRADE_CHECK';

/** The lowest of these versions, or undefined when there is none. */
export function lowestVersion(versions: Iterable<string | undefined>): Version | undefined {
  const parsed = [...versions].map((v) => (v ? parseVersion(v) : undefined)).filter((v): v is Version => v !== undefined);
  return parsed.sort(compareVersions)[0];
}

/**
 * Checks the change from the live cluster (`deployed`: as the hook recorded it) to the primaries' image of
 * `next` (the configuration being applied; undefined: the cluster is not in it). Throws a MembershipError
 * with the one-line refusal; else returns what it found.
 */
export async function upgradeCheck(deployed: Expectation, next: Expectation | undefined, opts: SessionOptions): Promise<string> {
  const cluster = deployed.target.cluster;
  if (!next) return `${cluster}: not in the configuration being applied; nothing to check`;
  const to = next.target.image?.version;
  if (!to) return `${cluster}: the primaries' image (${next.target.image?.ref ?? 'not recorded'}) names no etcd version; the upgrade path is not checked`;
  const views = await withSession(deployed.target, { ...opts, callTimeoutMs: opts.callTimeoutMs ?? 3000 }, (s) => s.survey());
  const from = lowestVersion(views.map((v) => v.status?.version));
  if (!from) return `${cluster}: no primary answers; the upgrade path is not checked`;
  const problem = upgradeProblem({ cluster, from: formatVersion(from), to, via: 'apply', auth: Boolean(next.target.auth ?? deployed.target.auth) });
  if (problem) throw new MembershipError(problem);
  return `${cluster}: etcd ${formatVersion(from)} -> ${to}: on etcd's upgrade path`;
}
