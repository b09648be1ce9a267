#!/usr/bin/env node
// `node scripts/run-ts.js main.ts`: runs this repository's TypeScript app as cdktf.json names it. esbuild
// bundles the app's own files in one call (packages stay in node_modules) and Node runs the result; no
// type check here (`npm run build` and the linters do that). ts-node compiled file by file through the
// TypeScript compiler and installed source-map-support, which made every stack trace cdktf captures while
// building constructs expensive: the app took ~4 s for 3+500 secondaries. See BENCHMARKS.md, section 3.
'use strict';
const Module = require('node:module');
const { resolve } = require('node:path');
const { buildSync } = require('esbuild');

const file = resolve(process.argv[2] || 'main.ts');
const out = buildSync({
  entryPoints: [file],
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  write: false,
  logLevel: 'error',
});
const app = new Module(file, null);
app.filename = file;
app.paths = Module.createRequire(file).resolve.paths('cdktf') || [];
process.argv.splice(1, 1);
require.main = app;
app._compile(out.outputFiles[0].text, file);
