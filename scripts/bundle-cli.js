#!/usr/bin/env node
/**
 * Bundles the CLI into one file, dist/etcd-cluster.js (part of `npm run build`, so of `npm ci` too).
 *
 * Why: the post-apply hook starts the CLI once per deploy, and before this most of a `verify` went into
 * Node resolving and reading some 300 files (gRPC, protobuf, zod, commander) and parsing etcd3's .proto
 * text, not into talking to etcd. One file and a descriptor parsed here, at build time, cut that; see
 * BENCHMARKS.md (section "Verification latency") for the figures.
 *
 * The only change to third-party code: etcd3 parses proto/rpc.proto when it is first loaded
 * (`loadSync`); the bundle hands @grpc/proto-loader the same definitions as JSON (`fromJSON`), parsed
 * here by the same protobufjs. If etcd3 ever loads its protocol differently, the build stops and says so.
 */
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const esbuild = require('esbuild');

const ROOT = join(__dirname, '..');
const fromEtcd3 = (id) => require.resolve(id, { paths: [dirname(require.resolve('etcd3/package.json', { paths: [ROOT] }))] });
const protobuf = require(
  require.resolve('protobufjs', {
    paths: [dirname(require.resolve('@grpc/proto-loader/package.json', { paths: [dirname(fromEtcd3('@grpc/proto-loader'))] }))],
  }),
);

/** etcd3's connection pool, with its .proto parsed at build time. */
const etcdProtocolAtBuildTime = {
  name: 'etcd3-protocol-at-build-time',
  setup(build) {
    build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const call = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, {';
      if (!source.includes(call)) {
        throw new Error(`${args.path}: etcd3 no longer loads its protocol with \`${call}\`; update scripts/bundle-cli.js`);
      }
      const root = new protobuf.Root();
      // The same parse options @grpc/proto-loader's loadSync gives protobufjs for etcd3's { keepCase: true }.
      root.loadSync(join(dirname(args.path), '..', 'proto', 'rpc.proto'), { keepCase: true });
      return { contents: source.replace(call, `(0, proto_loader_1.fromJSON)(${JSON.stringify(root.toJSON())}, {`), loader: 'js' };
    });
  },
};

esbuild
  .build({
    entryPoints: [join(ROOT, 'lib', 'cli', 'index.ts')],
    outfile: join(ROOT, 'dist', 'etcd-cluster.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'eof',
    tsconfig: join(ROOT, 'tsconfig.build.json'),
    plugins: [etcdProtocolAtBuildTime],
    // Loaded from node_modules only by the commands that use them (spec files, pki), not by the hooks'.
    external: ['yaml', '@peculiar/x509', 'reflect-metadata'],
    // bin/cli.js runs the bundle as a vm.Script, which has no dynamic import(): lazy loads become require().
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
  })
  .catch(() => process.exit(1));
