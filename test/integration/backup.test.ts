/**
 * Issue 16 with the real provider: a snapshot of a 3+1 cluster holding 1000 keys, read by etcd's own
 * etcdutl; the cluster destroyed with its volumes; a new cluster restored from the snapshot, with every key
 * back, a new cluster ID, and the verify hook checking the snapshot's revision; restoring over a cluster
 * with data refused with its members untouched; a backup container taking snapshots on a schedule and
 * keeping the newest few, left alone when the secondaries scale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressesOf, ApplyFailed } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { etcdCluster } from '../harness/cli';
import { TEST_IMAGE } from '../harness/env';
import { eventually, TestCluster } from '../harness/test-cluster';
import { scratchDir } from '../helpers/synth';

jest.setTimeout(600_000);
const KEYS = 1000;

describeEngine('a snapshot, and a new cluster restored from it', () => {
  let original: TestCluster;
  let restored: TestCluster | undefined;
  const dir = scratchDir('snapshots');
  const file = join(dir, 'orders.db');
  let revision = 0;
  let originalId = '';

  beforeAll(async () => {
    original = await TestCluster.create('snap', { primaries: 3, secondaries: 1 });
    await original.apply();
    const c = original.client();
    try {
      for (let i = 0; i < KEYS; i += 100)
        await Promise.all(Array.from({ length: 100 }, (_, k) => c.put(`/it/snap/${String(i + k).padStart(4, '0')}`).value(`v${i + k}`)));
      originalId = (await c.maintenance.status()).header.cluster_id;
    } finally {
      c.close();
    }
  });
  afterAll(async () => {
    await original?.teardown();
    await restored?.teardown();
  });

  test('snapshot save writes a file etcdutl snapshot status reads, and refuses to overwrite it', async () => {
    const r = await etcdCluster(['snapshot', 'save', file, '--json', '--stack', original.stackDir()], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    const saved = JSON.parse(r.stdout) as { revision: number; bytes: number; sha256: string; member: string };
    expect(saved.revision).toBeGreaterThanOrEqual(KEYS);
    revision = saved.revision;
    const status = await original.docker.runOnce(TEST_IMAGE, ['/usr/local/bin/etcdutl', 'snapshot', 'status', '/s/orders.db', '-w', 'json'], 'none', [
      `${dir}:/s:ro`,
    ]);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.output.trim().split('\n').pop()!).revision).toBe(revision);
    const again = await etcdCluster(['snapshot', 'save', file, '--stack', original.stackDir()]);
    expect([again.code, again.stderr]).toEqual([2, `etcd-cluster: ${file} exists already; choose another file, or pass --force to replace it\n`]);
  });

  test('the cluster destroyed with its volumes, a new one restored from the snapshot holds every key', async () => {
    await original.teardown();
    expect(await original.docker.inspect('volumes', original.topology.primaries[0].volume)).toBeUndefined();
    restored = await TestCluster.create('restored', { primaries: 3, secondaries: 1, restore: { snapshot: file } });
    await restored.apply();
    expect(restored.deployment.lastOutput).toMatch(/matches the spec/);
    const c = restored.client();
    try {
      const keys = await c.getAll().prefix('/it/snap/').keys();
      expect(keys).toHaveLength(KEYS);
      expect(await c.get('/it/snap/0999').string()).toBe('v999');
      const s = await c.maintenance.status();
      expect(s.header.cluster_id).not.toBe(originalId);
      expect(Number(s.header.revision)).toBeGreaterThanOrEqual(revision);
    } finally {
      c.close();
    }
    expect(restored.expectation.minRevision).toBe(String(revision));
    expect((await restored.deployment.plan()).code).toBe(0);
  });

  test('restoring over a cluster with data is refused, and its members are untouched', async () => {
    const cluster = restored!;
    const ids = cluster.topology.primaries.map((p) => cluster.deployment.containerId(p.name));
    const other = join(dir, 'other.db');
    const r = await etcdCluster(['snapshot', 'save', other, '--stack', cluster.stackDir()]);
    expect(r.code).toBe(0);
    let failure: unknown;
    try {
      await cluster.apply({ restore: { snapshot: other } });
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(ApplyFailed);
    expect((failure as ApplyFailed).output).toMatch(/restore: restoring .*-primary-\d from the snapshot failed:/);
    expect((failure as ApplyFailed).output).toMatch(/data-dir "\/var\/lib\/etcd\/data" not empty/);
    for (const [k, p] of cluster.topology.primaries.entries()) expect((await cluster.docker.inspect('containers', p.name)).Id).toBe(ids[k]);
    const c = cluster.client();
    try {
      expect(await c.getAll().prefix('/it/snap/').keys()).toHaveLength(KEYS);
    } finally {
      c.close();
    }
  });

  test('bad input: a missing file and a file that is not a snapshot stop the synthesis with one line', async () => {
    const notSnap = join(dir, 'notes.txt');
    writeFileSync(notSnap, 'not a snapshot\n'.repeat(500));
    for (const [snapshot, message] of [
      [join(dir, 'missing.db'), `restore.snapshot: ${join(dir, 'missing.db')}: not found`],
      [notSnap, `restore.snapshot: ${notSnap}: not an etcd snapshot (no bbolt database header)`],
    ]) {
      const c = await TestCluster.create('badrestore', { primaries: 1, restore: { snapshot } });
      expect(() => c.synth()).toThrow(message);
    }
    const status = await etcdCluster(['snapshot', 'status', notSnap]);
    expect([status.code, status.stderr]).toEqual([2, `etcd-cluster: ${notSnap}: not an etcd snapshot (no bbolt database header)\n`]);
  });
});

describeEngine('scheduled backups', () => {
  let cluster: TestCluster;
  const cli = async (args: string[]) => etcdCluster([...args, '--stack', cluster.stackDir()], { timeoutMs: 60_000 });
  const backups = async () => {
    const r = await cli(['backups', '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { file: string; revision: number; bytes: number }[];
  };

  beforeAll(async () => {
    cluster = await TestCluster.create('backup', { primaries: 1, secondaries: 0, backup: { every: '2s', keep: 2 } });
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('snapshots are taken on the schedule, and only the newest are kept', async () => {
    const first = await eventually(
      async () => {
        const list = await backups();
        if (list.length < 2) throw new Error(`${list.length} snapshots so far`);
        return list;
      },
      60_000,
      500,
    );
    const oldest = first[0].file;
    const later = await eventually(
      async () => {
        const list = await backups();
        if (list.some((b) => b.file === oldest)) throw new Error('the oldest is still there');
        return list;
      },
      60_000,
      500,
    );
    expect(later.length).toBeLessThanOrEqual(2);
    expect(later.every((b) => /^snapshot-\d{8}T\d{6}Z-rev\d+\.db$/.test(b.file) && b.bytes > 0)).toBe(true);
    const table = await cli(['backups']);
    expect(table.stdout.split('\n')[0]).toMatch(/^FILE\s+TAKEN\s+REVISION\s+SIZE$/);
  });

  test('scaling the secondaries leaves the backup container alone', async () => {
    const id = (await cluster.docker.inspect('containers', `${cluster.name}-backup`)).Id;
    const actions = await cluster.apply({ secondaries: 1 });
    expect(
      addressesOf(actions, 'replace')
        .concat(addressesOf(actions, 'update'))
        .filter((a) => a.includes('backup')),
    ).toEqual([]);
    expect((await cluster.docker.inspect('containers', `${cluster.name}-backup`)).Id).toBe(id);
  });
});
