/**
 * Issue 13: the README's own commands on a prepared machine. `npx cdktf deploy` of the repository's
 * cluster.yaml brings up a verified cluster on this machine's Docker engine, `etcd-cluster verify` with no
 * flags agrees, the stack's outputs name the endpoints, `cdktf diff` finds nothing to do, and `npx cdktf
 * destroy` removes it. The registry is out of reach here, so deploy and diff skip cdktf's provider lock
 * (`--skip-provider-lock`), as the README tells air-gapped users to.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LABEL_CLUSTER, loadSpecFile } from '../../lib/model';
import { TERRAFORM } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { planExitCode, stripAnsi as strip } from '../harness/cli';
import { DockerApi } from '../harness/docker-api';
import { REPO_ROOT, run } from '../helpers/synth';

jest.setTimeout(600_000);

// npm_config_ignore_scripts: `npx etcd-cluster` in the repository runs its own `prepare` (a rebuild of dist/)
// first, which would pull dist/ from under the hooks of the suites running beside this one.
const ENV = { CHECKPOINT_DISABLE: '1', CI: 'true', FORCE_COLOR: '0', npm_config_ignore_scripts: 'true', ETCD_CLUSTER_EXPECTED: '' };
const name = loadSpecFile(join(REPO_ROOT, 'cluster.yaml')).name;
const stateFiles = [`terraform.${name}.tfstate`, `terraform.${name}.tfstate.backup`].map((f) => join(REPO_ROOT, f));
const npx = (args: string[]) => run('npx', args, { cwd: REPO_ROOT, env: ENV, timeoutMs: 600_000 });

describeEngine('npx cdktf deploy and destroy of the repository cluster.yaml', () => {
  const docker = new DockerApi();
  const mine = () => docker.objectsOf(LABEL_CLUSTER, name);

  beforeAll(async () => {
    // This deploys the repository's own cluster: never on top of one somebody deployed by hand.
    const existing = await mine();
    if (existing.length || stateFiles.some(existsSync)) {
      throw new Error(
        `a cluster named ${name} (or its Terraform state) is already here (${existing.join(', ') || stateFiles.join(', ')}); this test will not touch it`,
      );
    }
  });
  afterAll(async () => {
    if ((await mine()).length) await npx(['cdktf', 'destroy', '--auto-approve', name]);
    for (const f of stateFiles) rmSync(f, { force: true });
  });

  test('deploy: a verified cluster, outputs for other stacks, and nothing left to change', async () => {
    const deploy = await npx(['cdktf', 'deploy', '--auto-approve', '--skip-provider-lock', name]);
    const out = strip(deploy.stdout + deploy.stderr);
    expect([deploy.code, out.includes('Apply complete!')]).toEqual([0, true]);
    expect(out).toContain(`cluster ${name}: matches the spec`);

    const verify = await npx(['--no-install', 'etcd-cluster', 'verify', '--timeout', '30']);
    // With no flags: ./cluster.yaml, as the stack cdktf deployed declares it.
    expect(verify.stderr).toContain(`etcd-cluster: using the stack cdktf.out/stacks/${name} of the spec cluster.yaml`);
    // The state is where cdktf always kept it, named relative to the stack directory.
    expect(stateFiles.filter(existsSync)).toContain(stateFiles[0]);
    expect(verify.code).toBe(0);

    const outputs = await run(TERRAFORM, ['output', '-json'], { cwd: join(REPO_ROOT, 'cdktf.out', 'stacks', name), env: ENV });
    const values = JSON.parse(outputs.stdout) as Record<string, { value: unknown }>;
    expect(values.endpoints.value).toBe('http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793');
    expect(values.secondary_endpoints.value).toEqual(['http://127.0.0.1:24791', 'http://127.0.0.1:24792']);

    const diff = await npx(['cdktf', 'diff', '--skip-provider-lock', name]);
    expect(diff.code).toBe(0);
    expect(strip(diff.stdout + diff.stderr)).toMatch(/No changes/);
    // `cdktf diff` exits 0 with changes too: Terraform's own exit code in the stack's directory says there are none.
    const plan = await planExitCode(join(REPO_ROOT, 'cdktf.out', 'stacks', name), ENV);
    expect([plan.code, plan.code === 0 ? '' : plan.output]).toEqual([0, '']);
  });

  test('destroy removes every container, volume and network of it', async () => {
    const destroy = await npx(['cdktf', 'destroy', '--auto-approve', name]);
    expect([destroy.code, strip(destroy.stdout + destroy.stderr).includes('Destroy complete!')]).toEqual([0, true]);
    expect(await mine()).toEqual([]);
  });
});
