/**
 * Issue 26, CDK Terrain: `cdktn-etcd-cluster`, packed by the project's own `npm run pack:cdktn`, installed into a
 * cdktn user's project of its own (package.json, the strict tsconfig and the cdktf.json `cdktn init` writes,
 * the Docker provider's bindings from `cdktn get` as a cdktn user has them), then `cdktn synth`, a real `cdktn
 * deploy` with the verify hook passing, an empty second plan and `cdktn destroy`, as a user runs them.
 * cdktn-cli needs Node >= 22.19: CI runs this suite on Node 24, and the hooks run on the same `node`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { EtcdCluster } from '../../constructs/etcd-cluster';
import { LABEL_CLUSTER, type EtcdClusterProps } from '../../lib/model';
import { planExitCode, stripAnsi as strip } from '../harness/cli';
import { DockerApi } from '../harness/docker-api';
import { clusterName, dockerSkipReason, freePortRange, RUN_TAG, TEST_IMAGE } from '../harness/env';
import { QUIET_TERRAFORM_ENV, REPO_ROOT, run, type TfJson } from '../helpers/synth';
import { INIT_TSCONFIG } from '../helpers/user-project';

jest.setTimeout(900_000);

const ENV = { ...QUIET_TERRAFORM_ENV, CI: 'true', FORCE_COLOR: '0', ETCD_CLUSTER_EXPECTED: '' };
/** cdktn-cli's `engines`. */
const NODE_NEEDED = [22, 19];
const [major, minor] = process.versions.node.split('.').map(Number);
const nodeTooOld = major < NODE_NEEDED[0] || (major === NODE_NEEDED[0] && minor < NODE_NEEDED[1]);
if (nodeTooOld && !process.env.CI && !dockerSkipReason()) {
  process.stderr.write(`\nSKIPPING the cdktn suite: cdktn-cli needs Node >= ${NODE_NEEDED.join('.')}, this is ${process.version}\n`);
}
// As describeEngine: outside CI a missing prerequisite skips with one line, in CI it fails the run.
const describeCdktn: jest.Describe = dockerSkipReason() || (nodeTooOld && !process.env.CI) ? describe.skip : describe;

/** The cdktn-cli the pack script installed (tools/cdktn/package-lock.json): a user's global `cdktn`. */
const CDKTN = join(REPO_ROOT, '.work', 'cdktn', 'toolchain', 'node_modules', '.bin', 'cdktn');
const pins = (JSON.parse(readFileSync(join(REPO_ROOT, 'tools', 'cdktn', 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
const repoPkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

async function ok(cmd: string, args: string[], cwd: string, timeoutMs = 600_000) {
  const r = await run(cmd, args, { cwd, env: ENV, timeoutMs });
  if (r.code !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.code}) in ${cwd}:\n${strip(r.stdout + r.stderr)
        .trim()
        .split('\n')
        .slice(-25)
        .join('\n')}`,
    );
  return r;
}

/** `cdktn init`'s cdktf.json, with the Docker provider added as `cdktn provider add kreuzwerker/docker` adds it where no prebuilt bindings are served. */
const CDKTF_JSON = {
  language: 'typescript',
  app: 'npx ts-node main.ts',
  projectId: 'platform',
  sendCrashReports: 'false',
  targetVersions: { terraform: '>=1.5.7', opentofu: '>=1.6.0' },
  terraformProviders: ['kreuzwerker/docker@~> 4.6'],
  terraformModules: [],
  context: { failOnConstructsOutsideOfStacks: 'true', canonicalAssetHashes: 'true' },
};

/**
 * Two stacks with the same cluster: `platform` (deployed) owns a DockerProvider of the user's own bindings
 * (`cdktn get` into .gen), `ours` one of the bindings inside the package (synthesized only).
 */
const mainTs = (props: EtcdClusterProps) => `import { App, TerraformOutput, TerraformStack } from 'cdktn';
import { Construct } from 'constructs';
import { EtcdCluster, type EtcdClusterProps } from 'cdktn-etcd-cluster';
import { DockerProvider as PackagedDockerProvider } from 'cdktn-etcd-cluster/docker/provider';
import { DockerProvider } from './.gen/providers/docker/provider';

const props: EtcdClusterProps = ${JSON.stringify(props)};

class Platform extends TerraformStack {
  constructor(scope: Construct, id: string, bindings: 'user' | 'packaged') {
    super(scope, id);
    if (bindings === 'user') new DockerProvider(this, 'docker', {});
    else new PackagedDockerProvider(this, 'docker', {});
    const orders = new EtcdCluster(this, 'orders', props);
    new TerraformOutput(this, 'endpoints', { value: orders.endpoints.join(',') });
  }
}

const app = new App();
new Platform(app, 'platform', 'user');
new Platform(app, 'ours', 'packaged');
app.synth();
`;

/** The same stack built with cdktf-etcd-cluster's sources on cdktf, as Terraform JSON. */
function cdktfStack(props: EtcdClusterProps): TfJson {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'platform');
  new DockerProvider(stack, 'docker', {});
  const orders = new EtcdCluster(stack, 'orders', props);
  new TerraformOutput(stack, 'endpoints', { value: orders.endpoints.join(',') });
  return JSON.parse(Testing.synth(stack)) as TfJson;
}

/** A stack's configuration without cdktf's metadata (`//`), the backend and the provider pin. */
function comparable(tf: TfJson) {
  const drop = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(drop)
      : x && typeof x === 'object'
        ? Object.fromEntries(
            Object.entries(x)
              .filter(([k]) => k !== '//')
              .map(([k, v]) => [k, drop(v)]),
          )
        : x;
  const { terraform, ...rest } = drop(tf) as TfJson;
  const { backend: _backend, required_providers: _providers, ...settings } = terraform as Record<string, unknown>;
  return { ...rest, terraform: settings };
}

describeCdktn('a cdktn project deploys cdktn-etcd-cluster with cdktn synth, deploy and destroy', () => {
  const docker = new DockerApi();
  // Made by beforeAll (a skipped suite leaves nothing behind).
  const root = join(tmpdir(), `cdktn-etcd-user-${RUN_TAG}`);
  const project = join(root, 'platform');
  const name = clusterName('cdktn');
  let props: EtcdClusterProps;
  let deployed = false;
  const stackDir = (stack: string) => join(project, 'cdktf.out', 'stacks', stack);
  const stackOf = (stack: string) => JSON.parse(readFileSync(join(stackDir(stack), 'cdk.tf.json'), 'utf8')) as TfJson;
  const installed = join(project, 'node_modules', 'cdktn-etcd-cluster');
  const mine = () => docker.objectsOf(LABEL_CLUSTER, name);

  beforeAll(async () => {
    if (nodeTooOld) {
      throw new Error(`cdktn-cli needs Node >= ${NODE_NEEDED.join('.')}, this is ${process.version}: run this suite on Node 24 (CI does)`);
    }
    const base = await freePortRange(5);
    props = { name, primaries: 3, secondaries: 2, image: TEST_IMAGE, ports: { primaryBase: base, secondaryBase: base + 3 } };

    const packed = await ok('npm', ['run', '-s', 'pack:cdktn', '--', '--pack-destination', root], REPO_ROOT);
    const tarball = packed.stdout.trim().split('\n').pop()!;
    mkdirSync(project, { recursive: true });
    const manifest = {
      name: 'platform',
      private: true,
      dependencies: { 'cdktn-etcd-cluster': `file:${tarball}`, cdktn: pins.cdktn, constructs: pins.constructs },
      devDependencies: {
        typescript: repoPkg.devDependencies.typescript,
        'ts-node': repoPkg.devDependencies['ts-node'],
        '@types/node': repoPkg.devDependencies['@types/node'],
      },
    };
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(INIT_TSCONFIG, null, 2));
    writeFileSync(join(project, 'cdktf.json'), JSON.stringify(CDKTF_JSON, null, 2));
    writeFileSync(join(project, 'main.ts'), mainTs(props));
    await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
    await ok(CDKTN, ['get'], project);
    await ok(CDKTN, ['synth'], project);
  });
  afterAll(async () => {
    if (deployed && (await mine()).length) await run(CDKTN, ['destroy', 'platform', '--auto-approve'], { cwd: project, env: ENV, timeoutMs: 600_000 });
    rmSync(root, { recursive: true, force: true });
  });

  test("the package: cdktf-etcd-cluster's compiled library with cdktn's imports, the bindings of the resources it uses, cdktn and constructs as peers", () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown> & { peerDependencies: Record<string, string> };
    expect([pkg.name, pkg.version]).toEqual(['cdktn-etcd-cluster', repoPkg.version]);
    expect(pkg.peerDependencies).toEqual({ cdktn: `^${pins.cdktn}`, constructs: expect.stringMatching(/^>=10\.6\.0/) });
    expect(JSON.stringify(pkg)).not.toMatch(/cdktf"|@cdktf\//);
    // The bindings of exactly the provider's resources and data sources the cdktf build imports.
    const compiled = (readdirSync(join(REPO_ROOT, 'dist'), { recursive: true }) as string[]).filter((f) => /\.(js|d\.ts)$/.test(f)).sort();
    const used = new Set(
      compiled.flatMap((f) =>
        [...readFileSync(join(REPO_ROOT, 'dist', f), 'utf8').matchAll(/["']@cdktf\/provider-docker\/lib\/([a-z-]+)["']/g)].map((m) => m[1]),
      ),
    );
    expect(used).toContain('container');
    expect(readdirSync(join(installed, 'dist', 'docker')).sort()).toEqual([...used].sort());
    expect(readFileSync(join(installed, 'dist', 'docker', 'provider', 'index.js'), 'utf8')).toContain("providerVersion: '4.6.0'");

    // Every compiled file is the cdktf build's (dist/, from the same sources) but for the rewritten module names.
    const back = (text: string) =>
      text
        .replace(/\bcdktn_1\b/g, 'cdktf_1')
        .replace(/(["'])cdktn\1/g, '$1cdktf$1')
        .replace(/(["'])(?:\.\.?\/)+docker\/([a-z-]+)\1/g, '$1@cdktf/provider-docker/lib/$2$1')
        .replace(/cdktn-etcd-cluster\/cli/g, 'cdktf-etcd-cluster/cli')
        .replace(/(["'])cdktn-etcd-cluster\1/g, '$1cdktf-etcd-cluster$1');
    expect(compiled.length).toBeGreaterThan(40);
    const differing = compiled.filter((f) => back(readFileSync(join(installed, 'dist', f), 'utf8')) !== readFileSync(join(REPO_ROOT, 'dist', f), 'utf8'));
    expect(differing).toEqual([]);
  });

  test("cdktn synth: the Terraform cdktf-etcd-cluster writes for the same cluster, with the user's bindings or the packaged ones", () => {
    const platform = stackOf('platform');
    expect((platform.terraform as { required_providers: unknown }).required_providers).toEqual({ docker: { source: 'kreuzwerker/docker', version: '4.6.0' } });
    // The hooks' command names this package (the only place the package name reaches the configuration).
    const hooks = JSON.stringify(platform).match(/require\(\\"cdkt[fn]-etcd-cluster\/cli\\"\)/g) ?? [];
    expect([hooks.length > 0, new Set(hooks)]).toEqual([true, new Set(['require(\\"cdktn-etcd-cluster/cli\\")'])]);
    const asCdktf = JSON.parse(JSON.stringify(comparable(platform)).replaceAll('cdktn-etcd-cluster/cli', 'cdktf-etcd-cluster/cli')) as unknown;
    expect(asCdktf).toEqual(comparable(cdktfStack(props)));
    const rename = (tf: TfJson) =>
      JSON.stringify(tf)
        .replace(/"(platform|ours)(\/|")/g, '"STACK$2')
        .replace(/terraform\.(platform|ours)\.tfstate/g, 'terraform.STACK.tfstate');
    expect(rename(stackOf('ours'))).toBe(rename(platform));
  });

  test("cdktn deploy: the verify hook (the package's CLI under this project's node) passes, a second plan is empty, and the CLI agrees", async () => {
    deployed = true;
    const deploy = await run(CDKTN, ['deploy', 'platform', '--auto-approve', '--skip-provider-lock'], { cwd: project, env: ENV, timeoutMs: 600_000 });
    const out = strip(deploy.stdout + deploy.stderr);
    expect([deploy.code, out.includes('Apply complete!')]).toEqual([0, true]);
    expect(out).toContain(`require(\\"cdktn-etcd-cluster/cli\\").main(process.argv.slice(1))' verify`);
    expect(out).toContain(`cluster ${name}: matches the spec`);
    // The hook ran the installed package's CLI under this Node (its code cache is named after both).
    expect(readdirSync(join(installed, 'node_modules', '.cache', 'cdktf-etcd-cluster'))).toContain(`verify-${process.version}-${process.arch}.v8`);

    const diff = await run(CDKTN, ['diff', 'platform', '--skip-provider-lock'], { cwd: project, env: ENV, timeoutMs: 600_000 });
    expect(diff.code).toBe(0);
    expect(strip(diff.stdout + diff.stderr)).toMatch(/No changes/);
    // `cdktn diff` (cdktf's) exits 0 with changes too: Terraform's own exit code in the stack's directory says there are none.
    const plan = await planExitCode(stackDir('platform'), ENV);
    expect([plan.code, plan.code === 0 ? '' : plan.output]).toEqual([0, '']);

    const verify = await run('npx', ['--no-install', 'etcd-cluster', 'verify', '--stack', stackDir('platform'), '--timeout', '30'], { cwd: project, env: ENV });
    expect([verify.code, strip(verify.stdout)]).toEqual([0, expect.stringContaining(`cluster ${name}: matches the spec`)]);
    const outputs = await ok('terraform', ['output', '-json'], stackDir('platform'));
    expect((JSON.parse(outputs.stdout) as { endpoints: { value: string } }).endpoints.value).toBe(
      [1, 2, 3].map((i) => `http://127.0.0.1:${props.ports!.primaryBase! + i - 1}`).join(','),
    );
  });

  test('cdktn destroy removes every container, volume and network of it', async () => {
    expect(deployed).toBe(true);
    const destroy = await run(CDKTN, ['destroy', 'platform', '--auto-approve'], { cwd: project, env: ENV, timeoutMs: 600_000 });
    expect([destroy.code, strip(destroy.stdout + destroy.stderr).includes('Destroy complete!')]).toEqual([0, true]);
    expect(await mine()).toEqual([]);
  });
});
