/**
 * The model: what a user declares and everything that follows from it, as plain data. It imports no cdktf
 * and no etcd client; synthesis, the hooks and the CLI all start here.
 */
export * from './defaults';
export * from './spec';
export * from './load';
export * from './placement';
export * from './flags';
export * from './topology';
export * from './expectation';
export * from './pki';
export * from './snapshot';
