export * from './backup';
export * from './etcd-cluster';
export * from './member';
export * from './network';
export * from './primary';
export * from './secondary';
export * from './verify-hook';
