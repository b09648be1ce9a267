/**
 * The model: what a user declares and everything that follows from it, as plain data. It imports no cdktf
 * and no etcd client; synthesis, the hooks and the CLI all start here. (This is the model's own entry for the
 * rest of the repository; the package's public API is the root `index.ts`.)
 */
export * from './defaults';
export * from './props';
export * from './schema';
export * from './validate';
export * from './messages';
export * from './load';
export * from './placement';
export * from './secondary-kind';
export * from './facts';
export * from './flags';
export * from './topology';
export * from './expectation';
export * from './synthesis';
export * from './pki';
export * from './snapshot';
export * from './pki-rotation';
