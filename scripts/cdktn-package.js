#!/usr/bin/env node
/**
 * Builds and packs `cdktn-etcd-cluster`, the CDK Terrain flavour of this library (`npm run pack:cdktn`), from
 * the same sources as `cdktf-etcd-cluster`, which it leaves untouched. Prints the tarball's path on stdout;
 * progress goes to stderr. Needs Node >= 22.19 (cdktn-cli), Terraform (or OpenTofu) and the Docker provider in
 * the local mirror (scripts/provider-mirror.sh); reaches nothing but the npm registry.
 *
 *   node scripts/cdktn-package.js [--pack-destination <dir>]     (default: .work/cdktn)
 *
 * Under .work/cdktn:
 * 1. `toolchain/`: tools/cdktn/package.json and its lockfile installed with `npm ci` (cdktn, cdktn-cli and the
 *    constructs release they take), once per lockfile.
 * 2. `toolchain/gen/`: `cdktn get` generates TypeScript bindings of the Docker provider in the local mirror (4.6.0).
 * 3. `stage/`: a copy of the library's sources (index.ts, lib, constructs, stacks) with three kinds
 *    of rewrite, each a module name in quotes and nothing else: `cdktf` becomes `cdktn`;
 *    `@cdktf/provider-docker/lib/<r>` becomes the generated bindings of <r>, copied into `docker/<r>` (only
 *    the resources the sources import); the package name in `"cdktf-etcd-cluster"` and
 *    `"cdktf-etcd-cluster/cli"` (the hooks' command) becomes `cdktn-etcd-cluster`. Labels, names and
 *    messages stay as they are. Any other import of cdktf or @cdktf stops the build.
 *    Everything else the stage imports (zod, etcd3, esbuild, ...) resolves to the repository's node_modules,
 *    as for the cdktf build; cdktn and constructs to the toolchain's, through `paths` in the compiler's
 *    configuration (at run time they are the user's: peer dependencies).
 * 4. The stage is compiled with the repository's tsconfig.build.json (the bindings added) and TypeScript: the
 *    library type-checks against cdktn and the provider's 4.6.0 schema. The CLI is bundled by the
 *    repository's own scripts/bundle-cli.js run in the stage.
 * 5. package.json: the repository's, renamed, with cdktn and constructs as peer dependencies (no
 *    @cdktf/provider-docker: the bindings are inside, importable as `cdktn-etcd-cluster/docker/<r>`).
 *    `npm pack` writes the tarball.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const ROOT = join(__dirname, '..');
const WORK = join(ROOT, '.work', 'cdktn');
const TOOLCHAIN = join(WORK, 'toolchain');
const STAGE = join(WORK, 'stage');
// Inside the toolchain: cdktn get checks the cdktn library it finds from here (the repository's is cdktf).
const GEN = join(TOOLCHAIN, 'gen');
/** The provider whose bindings the package carries: the release the suites run (scripts/provider-mirror.sh). */
const DOCKER_PROVIDER = { source: 'kreuzwerker/docker', version: '4.6.0' };
const NAME = 'cdktn-etcd-cluster';
/** The library's sources, as tsconfig.build.json compiles them. */
const SOURCES = ['index.ts', 'lib', 'constructs', 'stacks'];
const MIN_NODE = [22, 19];

const log = (line) => process.stderr.write(`cdktn-package: ${line}\n`);
function fail(message) {
  process.stderr.write(`cdktn-package: ${message}\n`);
  process.exit(1);
}

function sh(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, CHECKPOINT_DISABLE: '1', ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    fail(`${cmd} ${args.join(' ')} failed (${r.error ? r.error.message : `exit ${r.status}`}) in ${cwd}:\n${out}`);
  }
  return r.stdout;
}

function args() {
  const a = process.argv.slice(2);
  let destination = WORK;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--pack-destination' && a[i + 1]) destination = resolve(a[++i]);
    else fail(`unknown argument ${JSON.stringify(a[i])} (usage: node scripts/cdktn-package.js [--pack-destination <dir>])`);
  }
  return { destination };
}

/** 1. cdktn, cdktn-cli and constructs as the lockfile pins them. */
function toolchain() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    fail(`cdktn-cli needs Node >= ${MIN_NODE.join('.')}, this is ${process.version}; run with Node 24`);
  }
  const lock = readFileSync(join(ROOT, 'tools', 'cdktn', 'package-lock.json'), 'utf8');
  const installed = join(TOOLCHAIN, 'package-lock.json');
  if (existsSync(join(TOOLCHAIN, 'node_modules', '.bin', 'cdktn')) && existsSync(installed) && readFileSync(installed, 'utf8') === lock) return;
  log('installing the cdktn toolchain (tools/cdktn/package-lock.json)');
  rmSync(TOOLCHAIN, { recursive: true, force: true });
  mkdirSync(TOOLCHAIN, { recursive: true });
  cpSync(join(ROOT, 'tools', 'cdktn', 'package.json'), join(TOOLCHAIN, 'package.json'));
  writeFileSync(installed, lock);
  sh('npm', ['ci', '--no-audit', '--no-fund'], TOOLCHAIN);
}

/** 2. The provider's bindings, generated by `cdktn get` (it regenerates only when the provider changed). */
function bindings() {
  mkdirSync(GEN, { recursive: true });
  const config = {
    language: 'typescript',
    app: 'true',
    sendCrashReports: 'false',
    terraformProviders: [`${DOCKER_PROVIDER.source}@${DOCKER_PROVIDER.version}`],
    terraformModules: [],
    codeMakerOutput: 'gen',
  };
  writeFileSync(join(GEN, 'cdktf.json'), `${JSON.stringify(config, null, 2)}\n`);
  log(`cdktn get: bindings of ${DOCKER_PROVIDER.source} ${DOCKER_PROVIDER.version}`);
  sh(join(TOOLCHAIN, 'node_modules', '.bin', 'cdktn'), ['get'], GEN, { FORCE_COLOR: '0' });
  const versions = JSON.parse(readFileSync(join(GEN, 'gen', 'versions.json'), 'utf8'));
  const got = versions[`registry.terraform.io/${DOCKER_PROVIDER.source}`] ?? versions[`registry.opentofu.org/${DOCKER_PROVIDER.source}`];
  if (got !== DOCKER_PROVIDER.version) {
    fail(`cdktn get found ${DOCKER_PROVIDER.source} ${got ?? '(none)'}, not ${DOCKER_PROVIDER.version}: run scripts/provider-mirror.sh`);
  }
  return join(GEN, 'gen', 'providers', 'docker');
}

function tsFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, f))
    .filter((f) => f.endsWith('.ts') && statSync(f).isFile());
}

/** 3. The sources with their cdktf imports turned into cdktn's and the bindings'. */
function stage(generated) {
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  for (const f of [...SOURCES, 'tsconfig.json', 'tsconfig.build.json', 'bin', 'scripts/bundle-cli.js', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    cpSync(join(ROOT, f), join(STAGE, f), { recursive: true });
  }
  const resources = new Set();
  const files = SOURCES.flatMap((s) => (s.endsWith('.ts') ? [join(STAGE, s)] : tsFiles(join(STAGE, s))));
  const names = { cdktf: 0, package: 0 };
  for (const file of files) {
    const toBindings = relative(dirname(file), join(STAGE, 'docker')).split('\\').join('/');
    const text = readFileSync(file, 'utf8')
      .replace(/(\bfrom\s+|\bimport\s*\(\s*|\brequire\(\s*)(['"])cdktf\2/g, (_m, pre, q) => {
        names.cdktf++;
        return `${pre}${q}cdktn${q}`;
      })
      .replace(/(['"])@cdktf\/provider-docker\/lib\/([a-z-]+)\1/g, (_m, q, r) => {
        resources.add(r);
        return `${q}${toBindings.startsWith('.') ? '' : './'}${toBindings}/${r}${q}`;
      })
      .replace(/(["'])cdktf-etcd-cluster(\/cli)?\1/g, (_m, q, cli) => {
        names.package++;
        return `${q}${NAME}${cli ?? ''}${q}`;
      });
    const left = /(['"])(cdktf|@cdktf\/[^'"]*|cdktf-cli)\1/.exec(text);
    if (left) fail(`${relative(STAGE, file)} imports ${left[2]}, which this build does not translate; extend scripts/cdktn-package.js`);
    writeFileSync(file, text);
  }
  if (!names.cdktf || !resources.size || !names.package)
    fail(`the sources no longer look as this build expects (rewrites: ${JSON.stringify({ ...names, bindings: resources.size })})`);
  for (const r of [...resources].sort()) {
    const source = join(generated, r, 'index.ts');
    if (!existsSync(source))
      fail(`the sources import @cdktf/provider-docker/lib/${r}, which ${DOCKER_PROVIDER.source} ${DOCKER_PROVIDER.version} does not have`);
    mkdirSync(join(STAGE, 'docker', r), { recursive: true });
    cpSync(source, join(STAGE, 'docker', r, 'index.ts'));
  }
  // The repository's build configuration, with the bindings compiled beside the library.
  const build = JSON.parse(readFileSync(join(STAGE, 'tsconfig.build.json'), 'utf8'));
  build.include = [...build.include, 'docker/**/*.ts'];
  // cdktn and constructs from the toolchain; every other module as the repository's build finds it.
  const peer = (p) => [join(TOOLCHAIN, 'node_modules', p)];
  build.compilerOptions = { ...build.compilerOptions, paths: { cdktn: peer('cdktn'), constructs: peer('constructs') } };
  writeFileSync(join(STAGE, 'tsconfig.build.json'), JSON.stringify(build, null, 2));
  log(`staged ${files.length} sources and the bindings of ${[...resources].sort().join(', ')}`);
  return [...resources].sort();
}

/** 4. Compiled and bundled as the repository's `npm run build` does it. */
function compile() {
  log('compiling against cdktn and the generated bindings');
  sh(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [ROOT] }), '-p', 'tsconfig.build.json'], STAGE);
  sh(process.execPath, [join('scripts', 'bundle-cli.js')], STAGE);
}

/** 5. The package's manifest: the repository's, for cdktn. */
function manifest() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const cdktn = JSON.parse(readFileSync(join(TOOLCHAIN, 'node_modules', 'cdktn', 'package.json'), 'utf8'));
  const out = {
    name: NAME,
    version: pkg.version,
    description: pkg.description.replace(/^CDK for Terraform constructs/, 'CDK Terrain (cdktn) constructs'),
    keywords: [...pkg.keywords.map((k) => (k === 'cdktf' ? 'cdktn' : k)), 'cdk-terrain'],
    license: pkg.license,
    repository: pkg.repository,
    engines: { node: `>=${MIN_NODE.join('.')}` },
    main: pkg.main,
    types: pkg.types,
    exports: { ...pkg.exports, './docker/*': './dist/docker/*/index.js' },
    // TypeScript's `node10` resolution (module CommonJS, as `cdktn init` writes tsconfig.json) reads no exports.
    typesVersions: { '*': { 'docker/*': ['dist/docker/*/index.d.ts'] } },
    bin: pkg.bin,
    files: pkg.files,
    peerDependencies: { cdktn: `^${cdktn.version}`, constructs: cdktn.peerDependencies.constructs },
    dependencies: pkg.dependencies,
  };
  writeFileSync(join(STAGE, 'package.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}

function check(pkg) {
  const version = sh(process.execPath, [join('bin', 'etcd-cluster.js'), '--version'], STAGE).trim();
  if (version !== pkg.version) fail(`the staged CLI says version ${version}, expected ${pkg.version}`);
  const compiled = readdirSync(join(STAGE, 'dist'), { recursive: true })
    .filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))
    .map((f) => readFileSync(join(STAGE, 'dist', f), 'utf8'))
    .join('\n');
  for (const bad of ['require("cdktf")', "from 'cdktf'", '@cdktf/', 'cdktf-etcd-cluster/cli']) {
    if (compiled.includes(bad)) fail(`the compiled package still holds ${bad}`);
  }
  if (!compiled.includes(`${NAME}/cli`)) fail(`the compiled package does not name ${NAME}/cli for its hooks`);
}

function main() {
  const { destination } = args();
  toolchain();
  const generated = bindings();
  stage(generated);
  compile();
  const pkg = manifest();
  check(pkg);
  mkdirSync(destination, { recursive: true });
  const packed = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], STAGE));
  const tarball = join(destination, packed[0].filename);
  log(`${packed[0].entryCount} files, ${(packed[0].size / 1024).toFixed(0)} KiB: ${relative(process.cwd(), tarball) || tarball}`);
  process.stdout.write(`${tarball}\n`);
}

main();
