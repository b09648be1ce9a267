/**
 * cdktf-etcd-cluster: CDK for Terraform constructs for an etcd cluster on Docker.
 *
 * The package's public API, on purpose: the constructs and their props, the stack, loading and validating a
 * spec. Everything else (the topology, the hooks' contract, the runtime) is internal and may change in any
 * release. The entry point only re-exports; `etc/cdktf-etcd-cluster.api.md` is the reviewed report of it.
 *
 * @packageDocumentation
 */

// The constructs.
export { EtcdCluster, REQUIRED_TERRAFORM, type HostResources } from './constructs/etcd-cluster';
export type { PrimaryResources } from './constructs/primary';
export type { SecondaryResources } from './constructs/secondary';
export type { BackupResources } from './constructs/backup';
export type { VerifyHookResources } from './constructs/verify-hook';
export type { EtcdNetwork } from './constructs/network';
export { EtcdClusterStack, DOCKER_PROVIDER_VERSIONS, type EtcdClusterStackProps } from './stacks/etcd-cluster-stack';

// Their props: also the keys of a spec file.
export type {
  AuthProps,
  BackupProps,
  BackupStoreProps,
  ClusterSpec,
  DefragProps,
  EtcdClusterProps,
  EtcdTuningProps,
  HostProps,
  MetricsProps,
  NetworkProps,
  PlacementProps,
  PortsProps,
  RecoveryProps,
  ResourcesProps,
  RestoreProps,
  SecondaryProps,
  TlsProps,
  VerifyProps,
} from './lib/model/props';

// Loading and validating a spec.
export { DEFAULT_SPEC_FILE, loadSpecFile, parseSpecText, SPEC_FILE_ENV, specPathFromEnv } from './lib/model/load';
export { validateSpec } from './lib/model/validate';
export { SpecError } from './lib/model/messages';
