import { Annotations, AssetType, DataResource, Lazy, TerraformAsset, TerraformStack } from 'cdktf';
import { Image } from '@cdktf/provider-docker/lib/image';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { withTlsPaths, type ExpectationMessage, type MemberOpMessage } from '../lib/contract';
import {
  buildTopology,
  expectationOf,
  LABEL_CLUSTER,
  memberOpOf,
  publishedPortsOf,
  replacementsOf,
  staggerOf,
  synthesisOf,
  validateSpec,
  type AssetFile,
  type EtcdClusterProps,
  type Topology,
} from '../lib/model';
import type { FileRef } from './member';
import { EtcdPrimary, memberProvisioner, type PrimaryResources } from './primary';
import { EtcdSecondary, type SecondaryResources } from './secondary';
import { addressStemOf, addToStack } from './stack-clusters';
import { VerifyHook, type VerifyHookResources } from './verify-hook';
import { EtcdBackup, type BackupResources } from './backup';
import { StateGuard } from './guard';
import { dockerOf, EtcdNetwork } from './network';

/** Terraform that runs what this construct synthesizes: provisioners in `removed` blocks arrived in 1.9. */
export const REQUIRED_TERRAFORM = '>= 1.9.0';

const withoutType = <T extends { type: string }>({ type: _type, ...rest }: T) => rest;

/**
 * The files the model decided on, as assets of the stack (IDs `<scope>/<file>`), in its order; the
 * returned function names each as the configuration does (relative to the stack directory) with its hash.
 */
function assetsFor(cluster: Construct, decided: AssetFile[]): FileRef {
  const scopes = new Map<string, Construct>();
  const assets = new Map<string, { path: string; hash?: string }>();
  for (const f of decided) {
    const scope = scopes.get(f.scope) ?? scopes.set(f.scope, new Construct(cluster, f.scope)).get(f.scope)!;
    const asset = new TerraformAsset(scope, f.id, { path: f.source, type: AssetType.FILE });
    assets.set(f.source, { path: asset.path, hash: f.hash });
  }
  return (source: string) => {
    const asset = assets.get(source);
    if (!asset) throw new Error(`${source} is named by the configuration but is not among the cluster's files (lib/model/synthesis.ts)`);
    return asset;
  };
}

/** What every Docker host of the cluster holds besides members: its provider, network and images. */
export interface HostResources {
  /** The host's provider (alias = host name); undefined on a single host, which uses the stack's provider. */
  readonly provider?: DockerProvider;
  /** The cluster's network on this host, `<name>-net`. */
  readonly network: EtcdNetwork;
  /** The image of the primaries (and of default secondaries). */
  readonly image: Image;
  /** The image of the secondaries: `image` unless `secondary.image` names another. */
  readonly secondaryImage: Image;
}

/**
 * An etcd cluster on one Docker host, or spread over several: an odd number of voting primaries and any
 * number of stateless secondaries, plus a post-apply hook that verifies the live membership.
 *
 * Construct IDs are a public contract (they become Terraform addresses): `network`, `image`,
 * `secondary-image` (only with `secondary.image`), `primary-<i>`, `secondary-<j>`, `verify`, `bootstrap`
 * and, with TLS, `pki/<file>` (the certificates as assets). With `hosts`, each host's provider, network
 * and images live under `host-<name>` instead (`host-<name>/provider`, `host-<name>/network`, ...), and
 * every member is bound to its host's provider. The membership hooks have fixed addresses derived from the
 * construct's path below its stack (`<path>_primary-<i>_join`, `..._member`), so that several clusters,
 * nested in constructs of their own, fit in one stack; two clusters with the same name or a clashing
 * published port are refused.
 */
export class EtcdCluster extends Construct {
  /**
   * The topology the constructs render (the model's own shape, which may change in any release).
   * @internal
   */
  public readonly topology: Topology;
  /**
   * What the post-apply hook checks; TLS files as paths relative to the stack directory (the hooks' input,
   * which may change in any release).
   * @internal
   */
  public readonly expectation: ExpectationMessage;
  /** Client URLs of the primaries, as the deploying machine reaches them (the ETCDCTL_ENDPOINTS of the cluster). */
  public readonly endpoints: string[];
  /** Client URLs of the secondaries, as the deploying machine reaches them. */
  public readonly secondaryEndpoints: string[];
  /** The cluster's network; with hosts, the first host's (every host has its own: see `hosts`). */
  public readonly network: EtcdNetwork;
  /** Per-host resources by host name; the single host of a cluster without hosts is under ''. */
  public readonly hosts: Map<string, HostResources>;
  /** The voting members, primary 1 first. */
  public readonly primaries: PrimaryResources[];
  /** The stateless members, secondary 1 first. */
  public readonly secondaries: SecondaryResources[];
  /** The post-apply verification hook, unless `verify.enabled` is false. */
  public readonly hook?: VerifyHookResources;
  /** The backup container, with `backup` in the spec. */
  public readonly backup?: BackupResources;
  /**
   * The record of how the cluster was bootstrapped (its founders' `--initial-cluster`), kept from the first
   * deploy on. A later spec that would bootstrap differently (`primaries` changed without `initialPrimaries`,
   * a founder's address or the scheme changed) fails `terraform plan`, before anything is touched.
   */
  public readonly bootstrap: DataResource;
  /**
   * The state guard (`guard`): the first step of a first deploy, which refuses when the cluster runs already
   * and the state does not know it (constructs/guard.ts).
   */
  public readonly guard: DataResource;

  constructor(scope: Construct, id: string, props: EtcdClusterProps) {
    super(scope, id);
    this.topology = buildTopology(validateSpec(props));
    const t = this.topology;
    this.endpoints = t.primaries.map((p) => p.hostClientUrl);
    this.secondaryEndpoints = t.secondaries.map((s) => s.hostClientUrl);
    const stem = (i: number) => `${addressStemOf(this)}_primary-${i}`;
    const cli = t.verify.command;
    addToStack(this, {
      path: this.node.path,
      name: t.name,
      ports: publishedPortsOf(t),
      // Primaries above the declared count leave through `removed` blocks: Terraform runs a removed block's
      // destroy-time provisioner (`member remove`) before the container it depended on goes, and does
      // nothing for an address it never had. (A destroy provisioner inside the resource would not run once
      // the resource is gone from the configuration.)
      removed: t.absentPrimaries.map((i) => ({
        from: `terraform_data.${stem(i)}_member`,
        lifecycle: { destroy: true },
        provisioner: [{ 'local-exec': { ...withoutType(memberProvisioner(cli, 'remove', 'destroy')) } }],
      })),
    });
    TerraformStack.of(this).addOverride('terraform.required_version', REQUIRED_TERRAFORM);

    // What the model decided for synthesis: certificates checked (a bad one is a synth-time error, before
    // anything is rendered), the files that become assets of the stack, and the warnings.
    const decided = synthesisOf(t);
    const files = assetsFor(this, decided.files);
    this.expectation = withTlsPaths(expectationOf(t), (f) => files(f).path);
    const opOf = (node: (typeof t.primaries)[number]): MemberOpMessage => withTlsPaths(memberOpOf(t, node), (f) => files(f).path);
    for (const warning of decided.warnings) Annotations.of(this).addWarning(warning);

    // One network and one image (two with secondary.image) per Docker host; on a single host they sit at
    // the cluster's top level, as they always have.
    const hostResources = (scope: Construct, provider?: DockerProvider): HostResources => {
      // Made by the cluster's own step, read through the provider's data source (constructs/network.ts).
      const network = new EtcdNetwork(scope, 'network', {
        provider,
        cluster: t.name,
        name: t.network.name,
        labels: { [LABEL_CLUSTER]: t.name },
        subnet: t.network.subnet,
        gateway: t.network.gateway,
        command: cli,
      });
      // keep_locally: a destroy must not delete an image that may have been built or pulled by hand.
      const image = new Image(scope, 'image', { provider, name: t.image, keepLocally: true });
      // Present whenever configured, even with 0 secondaries, so that scaling never adds or removes it.
      const secondaryImage =
        t.secondaryImage !== t.image ? new Image(scope, 'secondary-image', { provider, name: t.secondaryImage, keepLocally: true }) : image;
      return { provider, network, image, secondaryImage };
    };
    this.hosts = new Map();
    if (!t.hosts.length) this.hosts.set('', hostResources(this));
    for (const h of t.hosts) {
      const scope = new Construct(this, `host-${h.name}`);
      const provider = new DockerProvider(scope, 'provider', { alias: h.name, host: h.docker, sshOpts: h.sshOpts.length ? h.sshOpts : undefined });
      this.hosts.set(h.name, hostResources(scope, provider));
    }
    const on = (n: { host?: string }) => this.hosts.get(n.host ?? '')!;
    this.network = [...this.hosts.values()][0].network;

    this.bootstrap = new DataResource(this, 'bootstrap', {
      input: { initialCluster: t.initialCluster },
      lifecycle: {
        // Written once, on the first deploy; never updated.
        ignoreChanges: ['input'],
        // Checked at plan time against the recorded value (after creation on the first deploy).
        postcondition: [
          {
            condition: `\${self.output.initialCluster == ${JSON.stringify(t.initialCluster)}}`,
            errorMessage: `initialPrimaries: cluster ${t.name} was bootstrapped with --initial-cluster=\${self.output.initialCluster}, and this spec would bootstrap ${t.initialCluster}; to change the primaries of a deployed cluster, set initialPrimaries to the number it was first deployed with (founders' names, addresses and scheme cannot change)`,
          },
        ],
      },
    });

    // Primaries in order: a joiner waits for every earlier primary's membership record (promoted), so they
    // join one at a time even when an earlier one is not joining (a recovery from primary 2 rejoins 1 and 3:
    // waiting only for the one before, 3's add raced 1's promotion and etcd refused a second learner), and
    // for every earlier primary's container, so that none is being replaced while membership changes.
    this.primaries = [];
    for (const node of t.primaries) {
      const stagger = staggerOf(t, node);
      const after = stagger && t.primaries.find((p) => p.name === stagger.after)!;
      this.primaries.push(
        new EtcdPrimary(this, `primary-${node.index}`, {
          node,
          ...on(node),
          files,
          membership: {
            op: opOf(node),
            command: cli,
            timeoutSeconds: t.verify.timeoutSeconds,
            addressStem: stem(node.index),
            after: [...this.primaries.map((p) => p.member), ...this.primaries.map((p) => p.container)],
          },
          // The Docker host of the founder it waits for, as that host's provider names it (read at synth).
          ...(stagger && {
            stagger: {
              command: cli,
              message: Lazy.stringValue({ produce: () => JSON.stringify({ ...stagger, docker: dockerOf(this, on(after!).provider, false) ?? null }) }),
              after: [on(after!).image, on(after!).network.record],
            },
          }),
        }),
      );
    }
    this.secondaries = t.secondaries.map(
      (node) => new EtcdSecondary(this, `secondary-${node.index}`, { node, ...on(node), image: on(node).secondaryImage, files }),
    );
    if (t.backup) this.backup = new EtcdBackup(this, 'backup', { node: t.backup, network: on(t.backup).network, provider: on(t.backup).provider, files });

    // Before anything that creates, adopts or changes something: the networks' steps, the volumes, the
    // joins' `member add` and the bootstrap record (the containers come after their network and volumes).
    const guard = new StateGuard(this, 'guard', {
      cluster: t.name,
      command: cli,
      providers: [...this.hosts.values()].map((h) => h.provider),
      address: `${addressStemOf(this)}_guard`,
    });
    this.guard = guard.resource;
    guard.before(
      this.bootstrap,
      ...[...this.hosts.values()].map((h) => h.network.step),
      ...this.primaries.flatMap((p) => [p.volume, p.join]),
      this.backup?.volume,
    );

    if (t.verify.enabled) {
      this.hook = new VerifyHook(this, 'verify', {
        expectation: this.expectation,
        command: t.verify.command,
        timeoutSeconds: t.verify.timeoutSeconds,
        replacements: replacementsOf(t),
        dependsOn: [...this.primaries.map((n) => n.member), ...this.secondaries.map((n) => n.container)],
        containers: [...this.primaries, ...this.secondaries].map((n) => n.container),
      });
    }
  }
}
