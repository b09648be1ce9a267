/**
 * The repository's own stack is portable: two checkouts at different paths synthesize a byte-identical
 * cdk.tf.json, the local backend included. The backend names the state file relative to the stack directory
 * (`../../../terraform.<stack>.tfstate` from `cdktf.out/stacks/<stack>`), which is the file cdktf's default
 * (an absolute path) named, so that a moved checkout finds its state (test/integration/moved-checkout.test.ts
 * deploys, moves and plans). `node scripts/run-ts.js main.ts` is what cdktf.json runs; no Docker needed.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyCheckout, run, scratchDir, type TfJson } from './helpers/synth';

jest.setTimeout(120_000);

const SPEC = 'name: portable\nprimaries: 3\nsecondaries: 1\ntls: { dir: pki }\nports: { primaryBase: 31791, secondaryBase: 32791 }\n';

async function synth(checkout: string): Promise<string> {
  const r = await run(process.execPath, ['scripts/run-ts.js', 'main.ts'], { cwd: checkout, env: { ETCD_CLUSTER_CONFIG: '', CHECKPOINT_DISABLE: '1' } });
  if (r.code !== 0) throw new Error(`synth in ${checkout} failed: ${r.stderr}`);
  return readFileSync(join(checkout, 'cdktf.out', 'stacks', 'portable', 'cdk.tf.json'), 'utf8');
}

describe("the repository's stack in two checkouts at different paths", () => {
  const root = scratchDir('portable');
  const first = copyCheckout(join(root, 'a'));
  const second = join(root, 'elsewhere', 'deeper', 'b');
  let texts: string[];

  beforeAll(async () => {
    writeFileSync(join(first, 'cluster.yaml'), SPEC);
    const pki = await run(process.execPath, ['bin/etcd-cluster.js', 'pki', '--spec', 'cluster.yaml'], { cwd: first });
    if (pki.code !== 0) throw new Error(pki.stderr);
    mkdirSync(second, { recursive: true });
    copyCheckout(second);
    cpSync(join(first, 'cluster.yaml'), join(second, 'cluster.yaml'));
    cpSync(join(first, 'pki'), join(second, 'pki'), { recursive: true });
    texts = [await synth(first), await synth(second)];
  });

  test('synthesize byte-identical cdk.tf.json, the backend included', () => {
    expect(texts[1]).toBe(texts[0]);
  });

  test('the state file is named relative to the stack directory: the checkout itself, where cdktf put it before', () => {
    const tf = JSON.parse(texts[0]) as TfJson;
    expect(tf.terraform?.backend).toEqual({ local: { path: '../../../terraform.portable.tfstate' } });
  });

  test('no path of either checkout is in the JSON', () => {
    for (const text of texts) {
      expect(text).not.toContain(root);
      expect(text).not.toContain(first);
    }
  });
});
