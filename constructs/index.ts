export * from './etcd-cluster';
export * from './etcd-node';
export * from './verify-hook';
