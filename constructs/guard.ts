/**
 * The cluster's state guard (`<cluster>/guard`, a public address): a terraform_data whose create-time
 * provisioner runs `etcd-cluster guard` before anything of the cluster is created, adopted or changed (the
 * networks' steps, the volumes, the joins and the bootstrap record depend on it). It refuses a deploy whose
 * state does not know a cluster that runs (lib/runtime/guard.ts). Its `triggers_replace` names only the
 * cluster, so that nothing but a new state (or a renamed cluster) runs it again; the cluster's Docker hosts
 * are a literal in the provisioner's environment (kept out of the plan, as the network step's host is), and
 * what the stack declares the guard reads from the stack itself: scaling changes nothing of it.
 */
import { DataResource, dependable, Lazy, type TerraformResource } from 'cdktf';
import type { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { GUARD_ENV, GUARD_KIND, type GuardMessage } from '../lib/contract/guard';
import { dockerOf } from './network';

export class StateGuard extends Construct {
  public readonly resource: DataResource;

  /** @internal The cluster makes its guard. */
  constructor(scope: Construct, id: string, props: { cluster: string; command: string; providers: (DockerProvider | undefined)[]; address: string }) {
    super(scope, id);
    // Read at synth, when every provider of the stack exists.
    const message = Lazy.stringValue({
      produce: () =>
        JSON.stringify({
          kind: GUARD_KIND,
          cluster: props.cluster,
          hosts: props.providers.map((p) => dockerOf(this, p, false) ?? null),
        } satisfies GuardMessage),
    });
    this.resource = new DataResource(this, 'check', {
      triggersReplace: { kind: GUARD_KIND, cluster: props.cluster },
      provisioners: [{ type: 'local-exec', command: `${props.command} guard`, environment: { [GUARD_ENV]: message } }],
    });
    // A fixed address (`<path>_guard`), like the membership records': `etcd-cluster import` names it.
    this.resource.overrideLogicalId(props.address);
  }

  /** Makes each resource wait for the guard. */
  before(...resources: (TerraformResource | undefined)[]): void {
    for (const r of resources) if (r) r.dependsOn = [...(r.dependsOn ?? []), dependable(this.resource)];
  }
}
