/**
 * `etcd-cluster upgrade-check` as the verify hook's destroy-time provisioner runs it: the deployed cluster
 * from the hook's recorded input, the new image from the stack in the working directory. In-process, with
 * scratch directories; the live cluster is one that does not answer (nothing listens on its port), so these
 * are the cases that decide without asking it. What a live cluster answers is in the integration suites
 * (rollout.test.ts, etcd-upgrade.test.ts) and the rules in upgrade-path.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../lib/cli';
import { buildTopology, expectationOf, validateSpec } from '../lib/model';
import { scratchDir } from './helpers/synth';

const expected = (image: string, name = 'demo') =>
  expectationOf(buildTopology(validateSpec({ name, primaries: 1, image, ports: { primaryBase: 1, secondaryBase: 2 } })));

/** A scratch working directory, with a stack (cdk.tf.json holding these clusters' hooks) unless none is given. */
function workDir(clusters?: ReturnType<typeof expected>[]): string {
  const dir = scratchDir('upgrade-check');
  mkdirSync(dir, { recursive: true });
  if (clusters) {
    const hooks = Object.fromEntries(clusters.map((c, k) => [`h${k}`, { input: c }]));
    writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { terraform_data: hooks } }));
  }
  return dir;
}

async function check(deployedImage: string, cwd: string, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await runCli(['upgrade-check'], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { ETCD_CLUSTER_EXPECTED: JSON.stringify(expected(deployedImage)), ...env },
    tty: false,
    cwd,
  });
  return { code, out, err };
}

test('the cluster is not in the configuration being applied (it is being removed): nothing to check', async () => {
  expect(await check('etcd:v3.5.21', workDir([expected('etcd:v3.6.16', 'other')]))).toEqual({
    code: 0,
    out: 'demo: not in the configuration being applied; nothing to check\n',
    err: '',
  });
  expect((await check('etcd:v3.5.21', workDir())).out).toBe('demo: not in the configuration being applied; nothing to check\n');
});

test('a new image whose tag names no version is not checked', async () => {
  expect((await check('etcd:v3.5.21', workDir([expected('etcd:latest')]))).out).toBe(
    "demo: the primaries' image (etcd:latest) names no etcd version; the upgrade path is not checked\n",
  );
});

test('a cluster that does not answer is not checked: nothing runs there to protect', async () => {
  expect(await check('etcd:v3.5.21', workDir([expected('etcd:v3.6.16')]))).toEqual({
    code: 0,
    out: 'demo: no primary answers; the upgrade path is not checked\n',
    err: '',
  });
});

test('the escape for a destroy of a cluster whose spec names a refused image', async () => {
  expect((await check('etcd:v3.5.21', workDir([expected('etcd:v3.6.16')]), { ETCD_CLUSTER_SKIP_UPGRADE_CHECK: '1' })).out).toBe(
    'upgrade check skipped (ETCD_CLUSTER_SKIP_UPGRADE_CHECK is set)\n',
  );
});
