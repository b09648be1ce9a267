// The CLI as a module: `require('cdktf-etcd-cluster/cli').main(argv)`. The hooks run it this way, once per
// hook, so start-up is most of their cost: the bundle (dist/etcd-cluster.js, one file) is compiled with a V8
// code cache kept beside the package's own node_modules, written after the first run of each command and
// rewritten whenever V8 refuses it (another Node release). Without a writable place it simply runs uncached.
'use strict';
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const file = join(__dirname, '..', 'dist', 'etcd-cluster.js');
const source = readFileSync(file, 'utf8');
// One cache per command (its first word): a verify caches what verify compiles. A cache is written only by a
// run that did not end in bad input (exit 2), so a typed word that is no command leaves no file behind.
const evaluated = process.execArgv.some((a) => a === '-e' || a === '--eval' || a.startsWith('--eval='));
const first = process.argv[evaluated ? 1 : 2] || '';
const command = /^[a-z-]+$/.test(first) ? first : 'other';
const cacheFile = join(__dirname, '..', 'node_modules', '.cache', 'cdktf-etcd-cluster', `${command}-${process.version}-${process.arch}.v8`);
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
const cli = new Module(file, module);
cli.filename = file;
script.runInThisContext()(cli.exports, Module.createRequire(file), cli, file, dirname(file));
cli.loaded = true;

if (cachedData === undefined || script.cachedDataRejected) {
  // At exit, the cache holds every function this command compiled, not only the module's top level.
  process.once('exit', (code) => {
    if (code === cli.exports.EXIT.USAGE) return;
    try {
      mkdirSync(dirname(cacheFile), { recursive: true });
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only installation: run without a cache.
    }
  });
}

module.exports = cli.exports;
