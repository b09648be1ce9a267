import { TerraformOutput, TerraformStack } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { EtcdCluster } from '../constructs/etcd-cluster';
import { SpecError, type EtcdClusterProps } from '../lib/model';

/** Props of `EtcdClusterStack`. */
export interface EtcdClusterStackProps {
  /** The cluster; its `name` names the stack too. */
  readonly cluster: EtcdClusterProps;
  /** Docker daemon to deploy to (`unix://...`, `ssh://user@host`). @default - the provider's default (DOCKER_HOST or the local socket) */
  readonly dockerHost?: string;
  /**
   * Version constraint of the kreuzwerker/docker provider. The bindings pin 3.6.2 exactly; the library is
   * tested with 4.6.0 (see README, "The Docker provider"), and both accept the configuration it writes.
   * @default DOCKER_PROVIDER_VERSIONS
   */
  readonly dockerProviderVersion?: string;
}

/** The kreuzwerker/docker releases this library's configuration is written for. */
export const DOCKER_PROVIDER_VERSIONS = '>= 3.6.2, < 5.0.0';

/**
 * A stack named after the cluster, holding the Docker provider (ID `docker`) and the cluster (ID `cluster`).
 * With `hosts` in the cluster, the cluster holds one provider per host instead. Its outputs, for another
 * stack or a script (`terraform output -json`): `endpoints` (the primaries' client URLs, comma-separated, as
 * ETCDCTL_ENDPOINTS takes them), `primary_endpoints` and `secondary_endpoints` (lists).
 */
export class EtcdClusterStack extends TerraformStack {
  /** The cluster, construct ID `cluster`. */
  public readonly cluster: EtcdCluster;

  constructor(scope: Construct, props: EtcdClusterStackProps) {
    super(scope, props.cluster.name);
    if (props.cluster.hosts?.length) {
      if (props.dockerHost) throw new SpecError(`dockerHost: not used with hosts; give each host its docker address (got ${JSON.stringify(props.dockerHost)})`);
    } else {
      new DockerProvider(this, 'docker', props.dockerHost ? { host: props.dockerHost } : {});
    }
    this.cluster = new EtcdCluster(this, 'cluster', props.cluster);
    this.addOverride('terraform.required_providers.docker.version', props.dockerProviderVersion ?? DOCKER_PROVIDER_VERSIONS);
    new TerraformOutput(this, 'endpoints', {
      value: this.cluster.endpoints.join(','),
      description: `client URLs of the primaries of ${props.cluster.name}, as ETCDCTL_ENDPOINTS takes them`,
    });
    new TerraformOutput(this, 'primary_endpoints', { value: this.cluster.endpoints, description: 'client URLs of the primaries' });
    new TerraformOutput(this, 'secondary_endpoints', { value: this.cluster.secondaryEndpoints, description: 'client URLs of the secondaries' });
  }
}
