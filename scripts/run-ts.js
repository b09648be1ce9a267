#!/usr/bin/env node
// `node scripts/run-ts.js main.ts`: runs this repository's TypeScript app as cdktf.json names it. esbuild
// bundles the app's own files in one call (packages stay in node_modules) and Node runs the result; no
// type check here (`npm run build` and the linters do that). ts-node compiled file by file through the
// TypeScript compiler and installed source-map-support, which made every stack trace cdktf captures while
// building constructs expensive: the app took ~4 s for 3+500 secondaries. See BENCHMARKS.md, section 3.
//
// Two more savings, both measured with --cpu-prof on 3+500:
// - The bundle is kept in node_modules/.cache/cdktf-etcd-cluster/app-<name>.json with the size and mtime of
//   every file that went into it; when none changed, esbuild is not started (~130 ms).
// - cdktf captures a full stack trace for every token and computed attribute it creates (about 17 per
//   container, whatever `App({ stackTraces })` says) and formats it at once, only to keep it for error
//   messages. Here those captures (on plain objects, never on Errors) get an empty trace: ~350 ms less.
//   Real errors keep their stacks. This is the repository app's runner only; the library changes nothing
//   global.
'use strict';
const Module = require('node:module');
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { basename, dirname, join, resolve } = require('node:path');

const file = resolve(process.argv[2] || 'main.ts');
const root = dirname(file);
const cacheFile = join(root, 'node_modules', '.cache', 'cdktf-etcd-cluster', `app-${basename(file)}.json`);
const stamp = (p) => {
  const s = statSync(resolve(root, p), { throwIfNoEntry: false });
  return s ? `${s.size}:${s.mtimeMs}` : 'missing';
};

function cached() {
  try {
    const c = JSON.parse(readFileSync(cacheFile, 'utf8'));
    return Object.entries(c.inputs).every(([p, s]) => stamp(p) === s) ? c.code : undefined;
  } catch {
    return undefined;
  }
}

function bundle() {
  const { buildSync } = require('esbuild');
  const out = buildSync({
    entryPoints: [file],
    absWorkingDir: root,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  const code = out.outputFiles[0].text;
  const inputs = Object.fromEntries(Object.keys(out.metafile.inputs).map((p) => [p, stamp(p)]));
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    const tmp = `${cacheFile}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ inputs, code }));
    renameSync(tmp, cacheFile);
  } catch {
    // A read-only checkout runs uncached.
  }
  return code;
}

const code = cached() ?? bundle();
// cdktf 0.21's TerraformOutput calls util.isArray, deprecated at run time since Node 22 (DEP0044): cdktf-cli
// shows the warning as an [ERROR] line on every synth of a stack with outputs. Only that warning is dropped.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const code = rest[0] !== null && typeof rest[0] === 'object' ? rest[0].code : rest[1];
  if (code === 'DEP0044') return undefined;
  return emitWarning.call(this, warning, ...rest);
};
const format = Error.prepareStackTrace;
Error.prepareStackTrace = (err, frames) => (err instanceof Error ? (format ? format(err, frames) : defaultFormat(err, frames)) : '');
function defaultFormat(err, frames) {
  return `${err.name}: ${err.message}${frames.map((f) => `\n    at ${f}`).join('')}`;
}
const app = new Module(file, null);
app.filename = file;
app.paths = Module.createRequire(file).resolve.paths('cdktf') || [];
process.argv.splice(1, 1);
require.main = app;
app._compile(code, file);
