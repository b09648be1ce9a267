/**
 * Issue 26: the README's first command, `bash scripts/up.sh`, as a person runs it in a fresh copy of the
 * repository (its files as git lists them; no node_modules, no dist, no state): it installs from the
 * lockfile, says what it will put on the engine and asks; 'no', or no answer at all, changes nothing; 'yes'
 * deploys the cluster of ./cluster.yaml with the real `cdktf deploy` and prints its members; running it
 * again with --yes finds it deployed, changes nothing and prints them again. A machine that lacks a Docker
 * engine is told it will be prepared first. The copy's cluster.yaml names a test cluster (its own name and
 * free ports, the local image), so that the repository's own `demo` is never touched.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LABEL_CLUSTER } from '../../lib/model';
import { describeEngine } from '../harness/describe-engine';
import { planExitCode, stripAnsi as strip } from '../harness/cli';
import { DockerApi } from '../harness/docker-api';
import { clusterName, freePortRange, TEST_IMAGE } from '../harness/env';
import { REPO_ROOT, type RunResult } from '../helpers/synth';

jest.setTimeout(900_000);

const ENV = { CHECKPOINT_DISABLE: '1', CI: 'true', FORCE_COLOR: '0', ETCD_CLUSTER_EXPECTED: '' };

/** The user's environment, less a spec file named elsewhere: up.sh deploys ./cluster.yaml. */
const { ETCD_CLUSTER_CONFIG: _unused, ...withoutSpec } = process.env;

/** Runs `bash scripts/up.sh` in `cwd` with `input` on its standard input (null: closed at once), as typed. */
function up(cwd: string, args: string[], input: string | null, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/up.sh', ...args], { cwd, env: { ...withoutSpec, ...ENV, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 800_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: strip(stdout), stderr: strip(stderr) });
    });
    // The answer comes once the question is on the screen, as a person would give it.
    if (input === null) child.stdin.end();
    else {
      const answer = () => {
        if (stderr.includes('Proceed? [y/N]')) child.stdin.end(input);
        else setTimeout(answer, 100);
      };
      answer();
    }
  });
}

describeEngine('bash scripts/up.sh in a fresh copy of the repository', () => {
  const docker = new DockerApi();
  const root = mkdtempSync(join(tmpdir(), 'cdktf-etcd-up-'));
  const copy = join(root, 'cdktf-etcd-cluster');
  let name: string;
  const mine = () => docker.objectsOf(LABEL_CLUSTER, name);

  beforeAll(async () => {
    // The repository as a clone has it: tracked files and new ones not ignored, nothing built or installed.
    const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .stdout.split('\0')
      .filter((f) => f && existsSync(join(REPO_ROOT, f)));
    expect(files).toContain('scripts/up.sh');
    for (const f of files) {
      mkdirSync(dirname(join(copy, f)), { recursive: true });
      cpSync(join(REPO_ROOT, f), join(copy, f));
    }
    expect(existsSync(join(copy, 'node_modules'))).toBe(false);
    name = clusterName('up');
    const primaryBase = await freePortRange(3);
    const secondaryBase = await freePortRange(2);
    writeFileSync(
      join(copy, 'cluster.yaml'),
      `name: ${name}\nprimaries: 3\nsecondaries: 2\nimage: ${TEST_IMAGE}\nports: { primaryBase: ${primaryBase}, secondaryBase: ${secondaryBase} }\n`,
    );
  });
  afterAll(async () => {
    if (name && (await mine()).length && existsSync(join(copy, 'node_modules'))) {
      spawnSync('npx', ['--no-install', 'cdktf', 'destroy', name, '--auto-approve'], {
        cwd: copy,
        env: { ...process.env, ...ENV },
        stdio: 'ignore',
        timeout: 600_000,
      });
    }
    if (name) {
      await docker.removeObjectsOf(LABEL_CLUSTER, name);
    }
    rmSync(root, { recursive: true, force: true });
  });

  test("answered 'no': it installed from the lockfile, said what it would deploy, and deployed nothing", async () => {
    const r = await up(copy, [], 'no\n');
    expect(r.stderr).toContain('up: node_modules is missing: npm ci');
    expect(existsSync(join(copy, 'node_modules', '.bin', 'cdktf'))).toBe(true);
    expect(r.stderr).toContain(`The stack ${name} (from cluster.yaml) puts this on the Docker engine:`);
    for (const member of ['primary-1', 'primary-2', 'primary-3', 'secondary-1', 'secondary-2'])
      expect(r.stderr).toMatch(new RegExp(`\\n  ${name}-${member} .*${TEST_IMAGE}`));
    expect(r.stderr).toContain(`npx cdktf deploy ${name}: Terraform creates the above`);
    expect(r.stderr).not.toContain('prepare this machine');
    expect(r.stderr).toContain("up: not confirmed (answer: 'no'): nothing was changed");
    expect(r.code).toBe(1);
    expect(await mine()).toEqual([]);
    expect(existsSync(join(copy, `terraform.${name}.tfstate`))).toBe(false);
  });

  test('no answer (standard input closed): nothing changes, and it says how to go on', async () => {
    const r = await up(copy, [], null);
    expect(r.stderr).toContain('up: no answer (standard input closed): nothing was changed; pass --yes to deploy without asking');
    expect(r.code).toBe(1);
    expect(await mine()).toEqual([]);
  });

  test('a machine without a Docker engine is told it will be prepared first', async () => {
    const r = await up(copy, [], 'n\n', { DOCKER_HOST: `unix://${join(root, 'no-such-docker.sock')}` });
    expect(r.stderr).toMatch(/1\. prepare this machine, which lacks a Docker engine that answers: bash scripts\/prepare-machine\.sh/);
    expect(r.code).toBe(1);
    expect(await mine()).toEqual([]);
  });

  test("answered 'yes': the real cdktf deploy, the hook verified it, and the members are printed", async () => {
    const r = await up(copy, [], 'yes\n');
    if (r.code !== 0) throw new Error(`up.sh failed (${r.code}):\n${(r.stdout + r.stderr).split('\n').slice(-40).join('\n')}`);
    expect(r.stderr).toContain(`cluster ${name}: matches the spec`);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^NAME\s+ROLE\s+STATE\s+ID\s+ENDPOINT/);
    const state = (member: string) => rows.find((l) => l.startsWith(`${name}-${member} `))?.split(/\s+/)[2];
    expect([1, 2, 3].map((i) => state(`primary-${i}`)).sort()).toEqual(['follower', 'follower', 'leader']);
    expect([1, 2].map((j) => state(`secondary-${j}`))).toEqual(['registered', 'registered']);
    expect(await mine()).toEqual(
      [
        ...['primary-1', 'primary-2', 'primary-3', 'secondary-1', 'secondary-2'].map((m) => `container ${name}-${m}`),
        ...[1, 2, 3].map((i) => `volume ${name}-primary-${i}-data`),
        `network ${name}-net`,
      ].sort(),
    );
  });

  test('again with --yes: it finds the cluster deployed, changes nothing, and prints the members', async () => {
    const before = (await docker.listByLabel('containers', LABEL_CLUSTER)).filter((c) => c.Labels?.[LABEL_CLUSTER] === name).map((c) => c.Id);
    const r = await up(copy, ['--yes'], null);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`it is deployed already (terraform.${name}.tfstate); Terraform changes only what differs from cluster.yaml`);
    expect(r.stderr).not.toContain('Proceed?');
    expect(r.stdout).toMatch(new RegExp(`^${name}-primary-1 `, 'm'));
    const after = (await docker.listByLabel('containers', LABEL_CLUSTER)).filter((c) => c.Labels?.[LABEL_CLUSTER] === name).map((c) => c.Id);
    expect(after.sort()).toEqual(before.sort());
    // Nothing left to change, by Terraform's exit code in the stack cdktf deployed: not only no container
    // replaced, but nothing else (an update in place, a hook) pending either.
    const plan = await planExitCode(join(copy, 'cdktf.out', 'stacks', name), ENV);
    expect([plan.code, plan.code === 0 ? '' : plan.output]).toEqual([0, '']);
  });
});
