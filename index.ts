// The package's entry point: it only re-exports.
export * from './lib/model';
export * from './lib/contract';
export * from './constructs';
export * from './stacks/etcd-cluster-stack';
