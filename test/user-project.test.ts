/**
 * The user's path (issue 12): this package packed as npm publishes it, installed into a project of the
 * user's own (its package.json, a strict tsconfig as `cdktf init` writes it, cdktf.json, main.ts) with two
 * clusters in one stack, one nested in a user construct and one with TLS, synthesized by `cdktf synth` in two
 * copies of the project at different paths. No Docker needed; npm installs the dependencies from the registry.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, run, type TfJson } from './helpers/synth';

jest.setTimeout(900_000);

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const CDKTF = join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');
const ENV = { CHECKPOINT_DISABLE: '1', CI: 'true', FORCE_COLOR: '0', ETCD_CLUSTER_EXPECTED: '' };

const MAIN_TS = `import { App, TerraformStack } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { EtcdCluster } from 'cdktf-etcd-cluster';

/** A team's piece of the platform, with its own cluster inside. */
class Billing extends Construct {
  public readonly cluster: EtcdCluster;
  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.cluster = new EtcdCluster(this, 'store', { name: 'billing', primaries: 1, ports: { primaryBase: 33791, secondaryBase: 34791 } });
  }
}

class Platform extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new DockerProvider(this, 'docker', {});
    new EtcdCluster(this, 'orders', { name: 'orders', primaries: 3, secondaries: 2 });
    new Billing(this, 'billing');
    new EtcdCluster(this, 'secure', { name: 'secure', primaries: 1, tls: { dir: 'pki' }, ports: { primaryBase: 43791, secondaryBase: 44791 } });
  }
}

const app = new App();
new Platform(app, 'platform');
app.synth();
`;

/** What `cdktf init --template typescript` writes. */
const TSCONFIG = {
  compilerOptions: {
    alwaysStrict: true,
    declaration: true,
    experimentalDecorators: true,
    inlineSourceMap: true,
    inlineSources: true,
    lib: ['es2018'],
    module: 'CommonJS',
    noEmitOnError: true,
    noFallthroughCasesInSwitch: true,
    noImplicitAny: true,
    noImplicitReturns: true,
    noImplicitThis: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    resolveJsonModule: true,
    strict: true,
    strictNullChecks: true,
    strictPropertyInitialization: true,
    stripInternal: true,
    target: 'ES2018',
    incremental: true,
    skipLibCheck: true,
  },
  include: ['**/*.ts'],
  exclude: ['node_modules', 'cdktf.out'],
};

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
    writeFileSync(
      join(first, 'package.json'),
      JSON.stringify(
        {
          name: 'platform',
          private: true,
          dependencies: {
            'cdktf-etcd-cluster': `file:${tarball}`,
            cdktf: pkg.devDependencies.cdktf,
            constructs: pkg.devDependencies.constructs,
            '@cdktf/provider-docker': pkg.devDependencies['@cdktf/provider-docker'],
          },
          devDependencies: {
            typescript: pkg.devDependencies.typescript,
            'ts-node': pkg.devDependencies['ts-node'],
            '@types/node': pkg.devDependencies['@types/node'],
          },
        },
        null,
        2,
      ),
    );
    writeFileSync(join(first, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(
      join(first, 'cdktf.json'),
      JSON.stringify(
        {
          language: 'typescript',
          app: 'npx ts-node main.ts',
          projectId: 'platform',
          sendCrashReports: 'false',
          terraformProviders: [],
          terraformModules: [],
          context: {},
        },
        null,
        2,
      ),
    );
    writeFileSync(join(first, 'main.ts'), MAIN_TS);
    writeFileSync(join(first, 'tls.yaml'), 'name: secure\nprimaries: 1\ntls: { dir: pki }\nports: { primaryBase: 43791, secondaryBase: 44791 }\n');
    await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], first);
    // The TLS cluster's certificates, made by the installed CLI as a user makes them.
    await ok('npx', ['--no-install', 'etcd-cluster', 'pki', '--spec', 'tls.yaml'], first);
    // A second checkout of the same project at another path (the dependencies are the same files).
    mkdirSync(second, { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'cdktf.json', 'main.ts', 'tls.yaml', 'pki']) cpSync(join(first, f), join(second, f), { recursive: true });
    symlinkSync(join(first, 'node_modules'), join(second, 'node_modules'));
    await ok(CDKTF, ['synth'], first);
    await ok(CDKTF, ['synth'], second);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

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
    const backend = JSON.stringify((tf.terraform as { backend?: unknown }).backend);
    expect(text.split(root).length - 1).toBe(backend.split(root).length - 1);
    const uploads = Object.values(tf.resource.docker_container).flatMap((c) => (c.upload as { source: string }[] | undefined) ?? []);
    expect(uploads.length).toBeGreaterThan(0);
    for (const u of uploads) {
      expect(u.source).toMatch(/^assets\//);
      expect(existsSync(join(first, 'cdktf.out', 'stacks', 'platform', u.source))).toBe(true);
    }
    expect(text).not.toContain('PRIVATE KEY');
  });

  test('the same project synthesized at another path gives a byte-identical stack, the local backend aside', () => {
    const strip = (tf: TfJson) => {
      delete (tf.terraform as { backend?: unknown }).backend;
      return JSON.stringify(tf);
    };
    expect(strip(stackOf(second))).toBe(strip(stackOf(first)));
  });
});
