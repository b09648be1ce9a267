import { DataResource, dependable, type ITerraformDependable } from 'cdktf';
import { Construct, type IConstruct } from 'constructs';
import { EXPECTATION_ENV, type ExpectationMessage } from '../lib/contract';
import { membershipOf } from '../lib/model';

export interface VerifyHookProps {
  readonly expectation: ExpectationMessage;
  /** How to run the CLI, e.g. `npx --no-install etcd-cluster`. */
  readonly command: string;
  readonly timeoutSeconds: number;
  /** Replaced primaries and their generations: a replacement keeps names and URLs, yet must be verified. */
  readonly replacements?: string;
  /** Everything the live cluster is made of: the hook runs after all of it. */
  readonly dependsOn: ITerraformDependable[];
  /**
   * The members' containers: when Terraform replaces or updates any of them (a new image, a stopped member
   * started again, a replaced network), the hook is replaced too and verifies the cluster once more.
   */
  readonly containers: ITerraformDependable[];
}

/** The post-apply hook's resources, as `EtcdCluster.hook` holds them. */
export interface VerifyHookResources extends IConstruct {
  /** The `terraform_data` resource whose provisioner runs `etcd-cluster verify`: depend on it to run after a verified deploy. */
  readonly resource: DataResource;
}

/**
 * The post-apply hook: a built-in `terraform_data` resource whose local-exec provisioner runs
 * `etcd-cluster verify`. It is replaced, and so runs again, when the membership changes, a primary is
 * replaced by spec, or Terraform changes any member's container; a failed verification fails the apply and
 * taints the resource, so the next apply retries it. Its destroy-time provisioner runs `etcd-cluster
 * upgrade-check` whenever Terraform replaces or destroys it, before any container it depends on: a change
 * of the primaries' image off etcd's upgrade path (a minor release in one apply included) fails the apply
 * there, before a primary is touched.
 */
export class VerifyHook extends Construct implements VerifyHookResources {
  public readonly resource: DataResource;

  constructor(scope: Construct, id: string, props: VerifyHookProps) {
    super(scope, id);
    this.resource = new DataResource(this, 'hook', {
      triggersReplace: { membership: membershipOf(props.expectation), ...(props.replacements ? { replacements: props.replacements } : {}) },
      input: props.expectation,
      dependsOn: props.dependsOn,
      // Bare addresses, as depends_on has them: Terraform refuses "${...}" templates in replace_triggered_by.
      lifecycle: { replaceTriggeredBy: props.containers.map((c) => dependable(c)) },
      provisioners: [
        {
          type: 'local-exec',
          // With RBAC, the same run first turns authentication on (idempotent), then verifies as root.
          command: `${props.command} verify${props.expectation.target.auth ? ' --enable-auth' : ''} --timeout ${props.timeoutSeconds}`,
          environment: { [EXPECTATION_ENV]: '${jsonencode(self.input)}' },
        },
        {
          // Before Terraform replaces any primary's container (this hook depends on them all, and Terraform
          // destroys dependents first): a new image off etcd's upgrade path fails the apply here. See
          // lib/runtime/upgrade-check.ts.
          type: 'local-exec',
          when: 'destroy',
          command: `${props.command} upgrade-check`,
          environment: { [EXPECTATION_ENV]: '${jsonencode(self.input)}' },
        },
      ],
    });
  }
}
