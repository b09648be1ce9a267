/**
 * The user's path (issues 12 and 28): this package packed as npm publishes it, installed into a project of
 * the user's own exactly as the README's "In your own project" says (its `npm install` lines and its
 * cdktf.json, read from the README, so that the two cannot drift; a strict tsconfig as `cdktf init` writes
 * it), with two clusters in one stack, one nested in a user construct and one with TLS, and the relative
 * local backend the README asks for, synthesized by the project's own `cdktf synth` in two copies of the
 * project at different paths: byte-identical, the backend included. And the same package installed from its
 * git URL, which builds it (`prepare`). No Docker needed; npm installs the dependencies from the registry.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, run, type TfJson } from './helpers/synth';
import { INIT_TSCONFIG } from './helpers/user-project';

jest.setTimeout(900_000);

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const ENV = { CHECKPOINT_DISABLE: '1', CI: 'true', FORCE_COLOR: '0', ETCD_CLUSTER_EXPECTED: '' };

/** The fenced block after the README's `<!-- user-project: <what> ... -->` marker. */
function readmeBlock(what: string): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- user-project: ${what}[ .][^\\n]*-->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no block marked <!-- user-project: ${what} -->`);
  return m[1];
}

/** The README's `npm install` lines, as argument lists (comments dropped). */
const INSTALL = readmeBlock('install')
  .split('\n')
  .map((line) => line.replace(/#.*$/, '').trim())
  .filter((line) => line.startsWith('npm install '))
  .map((line) => line.split(/\s+/).slice(1));
const TARBALL_ARG = /(^|\/)cdktf-etcd-cluster-[^/\s]*\.tgz$/;

const MAIN_TS = `import { App, LocalBackend, TerraformStack } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { EtcdCluster } from 'cdktf-etcd-cluster';

/** A team's piece of the platform, with its own cluster inside. */
class Billing extends Construct {
  public readonly cluster: EtcdCluster;
  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.cluster = new EtcdCluster(this, 'store', { name: 'billing', primaries: 1, ports: { primaryBase: 23801, secondaryBase: 26791 } });
  }
}

class Platform extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // As the README says: the state beside cdktf.json, named relative to cdktf.out/stacks/<id>.
    new LocalBackend(this, { path: \`../../../terraform.\${id}.tfstate\` });
    new DockerProvider(this, 'docker', {});
    new EtcdCluster(this, 'orders', { name: 'orders', primaries: 3, secondaries: 2 });
    new Billing(this, 'billing');
    new EtcdCluster(this, 'secure', { name: 'secure', primaries: 1, tls: { dir: 'pki' }, ports: { primaryBase: 23811, secondaryBase: 27791 } });
  }
}

const app = new App();
new Platform(app, 'platform');
app.synth();
`;

async function ok(cmd: string, args: string[], cwd: string, timeoutMs = 600_000) {
  const r = await run(cmd, args, { cwd, env: ENV, timeoutMs });
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}) in ${cwd}:\n${(r.stdout + r.stderr).trim().split('\n').slice(-25).join('\n')}`);
  return r;
}

describe("the packed library in a user's own project", () => {
  const root = mkdtempSync(join(tmpdir(), 'cdktf-etcd-user-'));
  const first = join(root, 'checkout-a', 'platform');
  const second = join(root, 'elsewhere', 'checkout-b', 'platform');
  let tarball: string;
  let files: string[];
  const stackOf = (project: string) => JSON.parse(readFileSync(join(project, 'cdktf.out', 'stacks', 'platform', 'cdk.tf.json'), 'utf8')) as TfJson;

  beforeAll(async () => {
    // --ignore-scripts: npm test built dist/ already; a rebuild here would pull it from under the integration suites' hooks.
    const packed = await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], REPO_ROOT);
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(root, info[0].filename);
    files = info[0].files.map((f) => f.path).sort();

    mkdirSync(first, { recursive: true });
    writeFileSync(join(first, 'package.json'), JSON.stringify({ name: 'platform', private: true }, null, 2));
    writeFileSync(join(first, 'tsconfig.json'), JSON.stringify(INIT_TSCONFIG, null, 2));
    writeFileSync(join(first, 'cdktf.json'), readmeBlock('cdktf.json') + '\n');
    writeFileSync(join(first, 'main.ts'), MAIN_TS);
    writeFileSync(join(first, 'tls.yaml'), 'name: secure\nprimaries: 1\ntls: { dir: pki }\nports: { primaryBase: 23811, secondaryBase: 27791 }\n');
    // The README's npm install lines, the tarball packed here in place of the one they name.
    for (const args of INSTALL) {
      await ok('npm', [...args.map((a) => (TARBALL_ARG.test(a) ? tarball : a)), '--no-audit', '--no-fund', '--prefer-offline'], first);
    }
    // cdktf-cli's terminal module for this Node, as the README tells a project on Node 24 to do (its package
    // ships binaries up to Node 22; on those this finds the module working and builds nothing).
    await ok(process.execPath, [join(REPO_ROOT, 'scripts', 'cdktf-pty.js'), first], REPO_ROOT);
    // The TLS cluster's certificates, made by the installed CLI as a user makes them.
    await ok('npx', ['--no-install', 'etcd-cluster', 'pki', '--spec', 'tls.yaml'], first);
    // A second checkout of the same project at another path (the dependencies are the same files).
    mkdirSync(second, { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'cdktf.json', 'main.ts', 'tls.yaml', 'pki']) cpSync(join(first, f), join(second, f), { recursive: true });
    symlinkSync(join(first, 'node_modules'), join(second, 'node_modules'));
    // The project's own cdktf-cli, as the README installs it.
    await ok('npx', ['--no-install', 'cdktf', 'synth'], first);
    await ok('npx', ['--no-install', 'cdktf', 'synth'], second);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("the README's install lines name this release's tarball and exactly the versions this package is built and tested with", () => {
    const [library, tools] = INSTALL;
    expect(INSTALL).toHaveLength(2);
    expect(library.filter((a) => TARBALL_ARG.test(a)).map((a) => a.split('/').pop())).toEqual([`cdktf-etcd-cluster-${pkg.version}.tgz`]);
    const pins = (args: string[]) =>
      Object.fromEntries(
        args.filter((a) => !TARBALL_ARG.test(a) && !a.startsWith('-')).map((a) => [a.slice(0, a.lastIndexOf('@')), a.slice(a.lastIndexOf('@') + 1)]),
      );
    const pinned = (names: string[]) => Object.fromEntries(names.map((n) => [n, pkg.devDependencies[n]]));
    expect(pins(library.slice(1))).toEqual(pinned(['cdktf', 'constructs', '@cdktf/provider-docker']));
    expect(tools.slice(0, 2)).toEqual(['install', '--save-dev']);
    expect(pins(tools.slice(2))).toEqual(pinned(['cdktf-cli', 'typescript', 'ts-node', '@types/node']));
  });

  test('the project holds what the README lists: the library and its peers as dependencies, the tools as devDependencies', () => {
    const project = JSON.parse(readFileSync(join(first, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys(project.dependencies).sort()).toEqual(['@cdktf/provider-docker', 'cdktf', 'cdktf-etcd-cluster', 'constructs']);
    expect(Object.keys(project.devDependencies).sort()).toEqual(['@types/node', 'cdktf-cli', 'ts-node', 'typescript']);
  });

  test('the tarball holds the compiled library, its types, the CLI, README, LICENSE and CHANGELOG, and nothing else', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'bin/etcd-cluster.js',
      'bin/cli.js',
      'dist/etcd-cluster.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/lib/cli/index.js',
      'dist/constructs/etcd-cluster.d.ts',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => !/^(dist\/.*\.(js|d\.ts)|bin\/(etcd-cluster|cli)\.js|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f))).toEqual([]);
    expect(files).not.toContain('dist/main.js');
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  test("the peer dependencies are the project's own: one copy of the Docker provider bindings", async () => {
    const r = await run('npm', ['ls', '@cdktf/provider-docker', '--all', '--parseable'], { cwd: first, env: ENV });
    expect(r.stdout.trim().split('\n').filter(Boolean)).toEqual([join(first, 'node_modules', '@cdktf', 'provider-docker')]);
  });

  test('the CLI runs from the project with no build step', async () => {
    expect((await ok('npx', ['--no-install', 'etcd-cluster', '--version'], first)).stdout).toBe(`${pkg.version}\n`);
    expect((await ok('npx', ['--no-install', 'etcd-cluster', 'members', '--help'], first)).stdout).toMatch(/^Usage: etcd-cluster members/);
  });

  test("the hooks' own command runs from the stack directory, and keeps its code cache inside the installed package", async () => {
    const stack = join(first, 'cdktf.out', 'stacks', 'platform');
    const hooks = Object.values(stackOf(first).resource.terraform_data).flatMap(
      (r) => (r.provisioner as { 'local-exec': { command: string } }[] | undefined) ?? [],
    );
    const verify = hooks.map((p) => p['local-exec'].command).find((c) => / verify /.test(c))!;
    const cli = verify.slice(0, verify.indexOf(' verify '));
    const r = await run('sh', ['-c', `${cli} members --help`], { cwd: stack, env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: etcd-cluster members/);
    expect(readdirSync(join(first, 'node_modules', 'cdktf-etcd-cluster', 'node_modules', '.cache', 'cdktf-etcd-cluster'))).toContain(
      `members-${process.version}-${process.arch}.v8`,
    );
  });

  test('two clusters and a nested one keep their own removed blocks and addresses', () => {
    const tf = stackOf(first) as TfJson & { removed: { from: string }[] };
    const from = tf.removed.map((r) => r.from);
    expect(from).toContain('terraform_data.orders_primary-4_member');
    expect(from).toContain('terraform_data.billing_store_primary-2_member');
    expect(from).toContain('terraform_data.secure_primary-2_member');
    expect(Object.keys(tf.resource.terraform_data)).toEqual(
      expect.arrayContaining(['orders_primary-3_member', 'billing_store_primary-1_member', 'secure_primary-1_member']),
    );
    expect((tf.terraform as { required_version: string }).required_version).toBe('>= 1.9.0');
  });

  test('TLS files are assets in the stack directory, named relative to it; no path of the machine is in the JSON', () => {
    const text = readFileSync(join(first, 'cdktf.out', 'stacks', 'platform', 'cdk.tf.json'), 'utf8');
    const tf = JSON.parse(text) as TfJson;
    expect(text).not.toContain(root);
    expect(tf.terraform?.backend).toEqual({ local: { path: '../../../terraform.platform.tfstate' } });
    const uploads = Object.values(tf.resource.docker_container).flatMap((c) => (c.upload as { source: string }[] | undefined) ?? []);
    expect(uploads.length).toBeGreaterThan(0);
    for (const u of uploads) {
      expect(u.source).toMatch(/^assets\//);
      expect(existsSync(join(first, 'cdktf.out', 'stacks', 'platform', u.source))).toBe(true);
    }
    expect(text).not.toContain('PRIVATE KEY');
  });

  test('the same project synthesized at another path gives a byte-identical stack, the local backend included', () => {
    const text = (project: string) => readFileSync(join(project, 'cdktf.out', 'stacks', 'platform', 'cdk.tf.json'), 'utf8');
    expect(text(second)).toBe(text(first));
  });
});

describe('the library installed from its git URL', () => {
  // What `npm install git+https://...` does, from this repository's own history: npm clones it, installs its
  // devDependencies, runs `prepare` (the build, and cdktf-pty in warn-only mode) and installs what it packs.
  const project = mkdtempSync(join(tmpdir(), 'cdktf-etcd-git-'));
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  test('builds the package (dist/ and the bundled CLI) and installs it with its peers', async () => {
    const head = (await ok('git', ['rev-parse', 'HEAD'], REPO_ROOT)).stdout.trim();
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'from-git', private: true }, null, 2));
    const [library] = INSTALL;
    const args = library.map((a) => (TARBALL_ARG.test(a) ? `git+file://${REPO_ROOT}#${head}` : a));
    await ok('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], project);
    const installed = join(project, 'node_modules', 'cdktf-etcd-cluster');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/etcd-cluster.js', 'bin/cli.js']) expect([f, existsSync(join(installed, f))]).toEqual([f, true]);
    expect((await ok('npx', ['--no-install', 'etcd-cluster', '--version'], project)).stdout).toBe(`${pkg.version}\n`);
    const lib = await ok(process.execPath, ['-e', "process.stdout.write(typeof require('cdktf-etcd-cluster').EtcdCluster)"], project);
    expect(lib.stdout).toBe('function');
  });
});
