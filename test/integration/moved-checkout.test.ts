/**
 * Issue 28: the repository's stack keeps its state where a moved checkout still finds it. A checkout of the
 * repository (test/helpers/synth.ts, copyCheckout) deploys a cluster with `npx cdktf deploy` the way a
 * release before this one did (cdktf's default local backend: the absolute path of the state file); the next
 * `cdktf diff` synthesizes the relative path, which names the same file: Terraform asks once to re-initialize
 * (`--migrate-state`, which finds the same state and copies nothing), and finds nothing to change. Then the
 * checkout moves to another path: `cdktf diff` there finds its state and nothing to change, `etcd-cluster
 * verify` with no flags agrees, and `cdktf destroy` from the new place removes everything.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LABEL_CLUSTER } from '../../lib/model';
import { describeEngine } from '../harness/describe-engine';
import { planExitCode, stripAnsi as strip } from '../harness/cli';
import { DockerApi } from '../harness/docker-api';
import { clusterName, freePortRange, TEST_IMAGE } from '../harness/env';
import { copyCheckout, run, scratchDir } from '../helpers/synth';

jest.setTimeout(900_000);

// npm_config_ignore_scripts: `npx etcd-cluster` in the repository runs its own `prepare` (a rebuild of dist/)
// first, which would pull dist/ from under the hooks of the suites running beside this one.
const ENV = { CHECKPOINT_DISABLE: '1', CI: 'true', FORCE_COLOR: '0', npm_config_ignore_scripts: 'true', ETCD_CLUSTER_EXPECTED: '', ETCD_CLUSTER_CONFIG: '' };

describeEngine('a checkout deployed with cdktf, then moved', () => {
  const docker = new DockerApi();
  const name = clusterName('moved');
  const root = scratchDir('moved');
  const before = join(root, 'first', 'checkout');
  const after = join(root, 'somewhere', 'else', 'checkout');
  let at = before;
  const npx = (args: string[]) => run('npx', args, { cwd: at, env: ENV, timeoutMs: 600_000 });
  const out = (r: { stdout: string; stderr: string }) => strip(r.stdout + r.stderr);
  const mine = () => docker.objectsOf(LABEL_CLUSTER, name);
  /** Nothing to change, by Terraform's exit code in the stack cdktf just initialized (`cdktf diff` exits 0 either way). */
  const nothingToChange = async () => {
    const plan = await planExitCode(join(at, 'cdktf.out', 'stacks', name), ENV);
    expect([plan.code, plan.code === 0 ? '' : plan.output]).toEqual([0, '']);
  };

  beforeAll(async () => {
    copyCheckout(before);
    const primaryBase = await freePortRange(3);
    writeFileSync(join(before, 'cluster.yaml'), `name: ${name}\nprimaries: 1\nimage: ${TEST_IMAGE}\nports: { primaryBase: ${primaryBase} }\n`);
  });
  afterAll(async () => {
    if ((await mine()).length) await npx(['cdktf', 'destroy', '--auto-approve', name]);
    await docker.removeObjectsOf(LABEL_CLUSTER, name);
    rmSync(root, { recursive: true, force: true });
  });

  test('deployed with the absolute state path of an earlier release, then synthesized with the relative one: the same state, nothing to change', async () => {
    const synth = await npx(['cdktf', 'synth']);
    expect(synth.code).toBe(0);
    const stackFile = join(before, 'cdktf.out', 'stacks', name, 'cdk.tf.json');
    const tf = JSON.parse(readFileSync(stackFile, 'utf8')) as { terraform: { backend: unknown } };
    expect(tf.terraform.backend).toEqual({ local: { path: `../../../terraform.${name}.tfstate` } });
    // What cdktf's default local backend wrote before this release.
    const state = join(before, `terraform.${name}.tfstate`);
    tf.terraform.backend = { local: { path: state } };
    writeFileSync(stackFile, JSON.stringify(tf, null, 2));
    const deploy = await npx(['cdktf', 'deploy', '--skip-synth', '--auto-approve', '--skip-provider-lock', name]);
    expect([deploy.code, out(deploy).includes('Apply complete!')]).toEqual([0, true]);
    expect(out(deploy)).toContain(`cluster ${name}: matches the spec`);
    expect(existsSync(state)).toBe(true);

    // The relative path is the same file, but Terraform re-initializes a changed backend only when told to.
    const refused = await npx(['cdktf', 'diff', '--skip-provider-lock', name]);
    expect(refused.code).not.toBe(0);
    expect(out(refused)).toMatch(/Backend configuration changed|migrate-state/);
    const diff = await npx(['cdktf', 'diff', '--migrate-state', '--skip-provider-lock', name]);
    expect(diff.code).toBe(0);
    expect(out(diff)).toMatch(/No changes/);
    await nothingToChange();
    expect(JSON.parse(readFileSync(state, 'utf8')).resources.length).toBeGreaterThan(0);
  });

  test('moved to another path: the plan there finds the state and nothing to change; verify agrees; destroy removes it all', async () => {
    mkdirSync(join(after, '..'), { recursive: true });
    renameSync(before, after);
    at = after;
    expect(existsSync(join(after, `terraform.${name}.tfstate`))).toBe(true);

    const diff = await npx(['cdktf', 'diff', '--skip-provider-lock', name]);
    expect(diff.code).toBe(0);
    expect(out(diff)).toMatch(/No changes/);
    await nothingToChange();

    const verify = await npx(['--no-install', 'etcd-cluster', 'verify', '--timeout', '30']);
    expect(verify.stderr).toContain(`etcd-cluster: using the stack cdktf.out/stacks/${name} of the spec cluster.yaml`);
    expect(verify.code).toBe(0);

    const destroy = await npx(['cdktf', 'destroy', '--auto-approve', name]);
    expect([destroy.code, out(destroy).includes('Destroy complete!')]).toEqual([0, true]);
    expect(await mine()).toEqual([]);
  });
});
