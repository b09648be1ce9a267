/**
 * The cluster's Docker network on one host, without the provider's `docker_network` resource: that
 * resource waits at least 2 s on every create, every refresh and every delete (kreuzwerker/docker 4.x,
 * a StateChangeConf with Delay 2s), so that every plan, deploy and rollout step of a standing cluster paid
 * 2 s per host for a network that is complete at once.
 *
 * Instead, three pieces (construct IDs inside are a public contract):
 * - `step`: a terraform_data whose provisioners run `etcd-cluster network create` (idempotent: it adopts a
 *   network that is already what the spec says) and, on destroy, `etcd-cluster network remove`. Everything
 *   that defines the network (name, driver, labels, subnet, gateway) is its `triggers_replace`, so a change
 *   replaces it; the Docker host is a literal in the provisioners' environment, not part of its state.
 *   Terraform reads nothing back for it: no refresh cost.
 * - `lookup`: the provider's `docker_network` DATA SOURCE, a plain inspect with no wait, which gives the
 *   network's ID. It depends on the step, so it is read during the apply (after the step) whenever the step
 *   is created or replaced, and at plan time otherwise; a network missing at plan time fails the plan
 *   ("Could not find docker network"): `etcd-cluster network create --stack <dir>` makes it again.
 * - `id`: a terraform_data holding that ID. Containers name the network by the ID, ignore later changes of
 *   `networks_advanced` and are replaced whenever this record changes: a new network (a new subnet, or one
 *   made again after it was deleted out of band) replaces every container on it, as the resource's new ID
 *   did. A record that is merely created replaces nothing: that is how a cluster deployed with the
 *   `docker_network` resource upgrades, its containers untouched. (Ignoring `networks_advanced` also hides
 *   a change of a member's aliases; they follow from the cluster's name and the member's role, and a name
 *   change replaces the containers anyway. A release that changes them must replace the containers by
 *   other means, e.g. a label.)
 *
 * The old resource (`docker_network.<path>_network_<hash>`, this construct's own address) leaves the state
 * through a `removed` block with `destroy = false`: Terraform forgets it without deleting the network, which
 * the step then adopts.
 */
import { Annotations, DataResource, dependable, Lazy, TerraformProvider, TerraformStack, Token, type TerraformResourceLifecycle } from 'cdktf';
import { DataDockerNetwork } from '@cdktf/provider-docker/lib/data-docker-network';
import type { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { NETWORK_DOCKER_ENV, NETWORK_ENV, NETWORK_KIND, type NetworkDef, type NetworkDocker } from '../lib/contract/network';
import { forgetOnStack } from './stack-clusters';

export interface EtcdNetworkProps {
  /** The cluster's name. */
  readonly cluster: string;
  /** The network's name, `<cluster>-net`. */
  readonly name: string;
  /** Labels of the network. */
  readonly labels: Record<string, string>;
  /** IPv4 CIDR. @default - chosen by Docker */
  readonly subnet?: string;
  /** Its gateway, explicit when a subnet is. */
  readonly gateway?: string;
  /** The provider of the network's Docker host. @default - the stack's default Docker provider */
  readonly provider?: DockerProvider;
  /** How the step runs the CLI, e.g. `npx --no-install etcd-cluster`. */
  readonly command: string;
}

/**
 * A Docker provider's host and ssh options, when they are literals (a provisioner can name nothing else);
 * undefined for the stack's default provider without a host (DOCKER_HOST or the local socket). Read at synth.
 */
export function dockerOf(scope: Construct, provider: DockerProvider | undefined, warn = true): NetworkDocker | undefined {
  const p =
    provider ??
    (TerraformStack.of(scope)
      .node.findAll()
      .find((c) => TerraformProvider.isTerraformProvider(c) && c.terraformResourceType === 'docker' && !c.alias) as DockerProvider | undefined);
  const host = p?.host;
  if (!host) return undefined;
  if (Token.isUnresolved(host) || (p.sshOpts ?? []).some((o) => Token.isUnresolved(o))) {
    if (warn)
      Annotations.of(scope).addWarning(
        'network: the Docker provider names its host through a reference; the network and founder steps cannot, and act where DOCKER_HOST points',
      );
    return undefined;
  }
  return { host, sshOpts: p.sshOpts ?? [] };
}

/** The cluster's Docker network on one host (`cluster/network`, or `cluster/host-<name>/network`): read-only for users. */
export class EtcdNetwork extends Construct {
  /** The network's name. */
  public readonly name: string;
  /** The network's ID (from the data source: known after the step during an apply that makes the network). */
  public readonly id: string;
  /** The terraform_data that makes and removes the network. */
  public readonly step: DataResource;
  /** The provider's `docker_network` data source, reading the network's ID. */
  public readonly lookup: DataDockerNetwork;
  /** The network's ID as recorded: a change replaces every container on the network. */
  public readonly record: DataResource;
  /** The lifecycle of every container on the network (see the module's comment). */
  public readonly containerLifecycle: TerraformResourceLifecycle;

  /** @internal The cluster makes its networks; its props are not part of the public API. */
  constructor(scope: Construct, id: string, props: EtcdNetworkProps) {
    super(scope, id);
    this.name = props.name;
    const def: NetworkDef = {
      kind: NETWORK_KIND,
      cluster: props.cluster,
      name: props.name,
      driver: 'bridge',
      labels: props.labels,
      subnet: props.subnet ?? null,
      gateway: props.subnet ? (props.gateway ?? null) : null,
    };
    // Read at synth, when every provider of the stack exists.
    const docker = Lazy.stringValue({
      produce: () => {
        const d = dockerOf(this, props.provider);
        return d ? JSON.stringify(d) : '';
      },
    });
    const environment = { [NETWORK_ENV]: '${jsonencode(self.triggers_replace)}', [NETWORK_DOCKER_ENV]: docker };
    this.step = new DataResource(this, 'step', {
      triggersReplace: def,
      provisioners: [
        { type: 'local-exec', command: `${props.command} network create`, environment },
        // Runs after every container on the network is gone (they depend on it through `lookup` and `id`).
        { type: 'local-exec', when: 'destroy', command: `${props.command} network remove`, environment },
      ],
    });
    this.lookup = new DataDockerNetwork(this, 'lookup', { provider: props.provider, name: props.name, dependsOn: [this.step] });
    this.id = this.lookup.id;
    this.record = new DataResource(this, 'id', { input: { id: this.lookup.id } });
    this.containerLifecycle = { ignoreChanges: ['networks_advanced'], replaceTriggeredBy: [dependable(this.record)] };
    // A stack deployed before this construct holds the provider's resource at this construct's own address.
    forgetOnStack(this, { from: `docker_network.${TerraformStack.of(this).getLogicalId(this.node)}`, lifecycle: { destroy: false } });
  }
}
