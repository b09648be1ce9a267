export * from './lib/spec';
export * from './lib/topology';
export * from './constructs';
export * from './stacks/etcd-cluster-stack';
