/**
 * Backups off the host (issue 36), with real Terraform, the real provider and a real S3-compatible store
 * (SeaweedFS, scripts/s3-store.sh) on a simulated host of its own: a cluster on etcd 3.4 backs up (full
 * snapshot and the watch stream's deltas), its whole host dies under a writer, a new cluster on another host
 * (etcd 3.6, TLS, one primary) is deployed from the store and counts what it lost; on it, a point in time before a
 * `del --prefix`, the store cut off for 30 s under a writer, bad input, and destroy leaving the objects.
 * What is in the store is checked with curl's own S3 signing too, not only through our program.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as YAML from 'yaml';
import { LABEL_CLUSTER } from '../../lib/model';
import { ensurePki } from '../../lib/runtime/pki';
import { run, scratchDir } from '../helpers/synth';
import { etcdCluster, planExitCode } from '../harness/cli';
import { describeEngine } from '../harness/describe-engine';
import { ETCD_34_IMAGE, ETCD_36_IMAGE } from '../harness/env';
import { SimHosts } from '../harness/sim-hosts';
import { eventually, TestCluster } from '../harness/test-cluster';
import { Writer } from '../harness/writer';

jest.setTimeout(1_800_000);

const BUCKET = 'etcd-backups';
const KEY_ID = `it${randomBytes(6).toString('hex')}`;
const SECRET = randomBytes(18).toString('hex');
/**
 * The error of a refused command: its last line on stderr (what came before is the progress and the choice of
 * cluster it said), with no stack trace anywhere.
 */
const oneLine = (stderr: string): string => {
  expect(stderr).not.toMatch(/^\s+at /m);
  return stderr.trim().split('\n').pop()!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Lineage {
  clusterId: string;
  full: { name: string; revision: number }[];
  delta: { name: string; first: number; last: number; largestDeletionRevision?: number; largestDeletionKeys?: number }[];
  newest: number;
}

describeEngine('backups in an object store on another host (issue 36)', () => {
  let sim: SimHosts;
  let store: string;
  let creds: string;
  let first: TestCluster | undefined;
  let second: TestCluster | undefined;
  let secondSpec: string;
  const dir = scratchDir('backup-store');

  /** The store's objects under a prefix, listed by curl (S3 signature v4), not by our program. */
  const objects = async (prefix: string): Promise<string[]> => {
    const r = await run('curl', [
      '-s',
      '-f',
      '--aws-sigv4',
      'aws:amz:us-east-1:s3',
      '--user',
      `${KEY_ID}:${SECRET}`,
      `${store}/${BUCKET}?list-type=2&max-keys=1000&prefix=${encodeURIComponent(`${prefix}/`)}`,
    ]);
    if (r.code !== 0) throw new Error(`curl list failed (${r.code}): ${r.stderr}`);
    return [...r.stdout.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
  };
  const s3 = (method: string, key: string, body?: string) =>
    run('curl', [
      '-s',
      '-f',
      '-X',
      method,
      '--aws-sigv4',
      'aws:amz:us-east-1:s3',
      '--user',
      `${KEY_ID}:${SECRET}`,
      // What S3 signs includes the body's SHA-256.
      ...(body
        ? [
            '-H',
            `x-amz-content-sha256: ${createHash('sha256').update(body).digest('hex')}`,
            '-H',
            'Content-Type: application/octet-stream',
            '--data-binary',
            body,
          ]
        : []),
      `${store}/${BUCKET}/${key}`,
    ]);

  const cli = (args: string[], spec = secondSpec) => etcdCluster([...args, '--spec', spec]);
  const listing = async (spec = secondSpec): Promise<{ prefix: string; lineages: Lineage[]; status?: { revision: number } }> => {
    const r = await cli(['backups', '--json'], spec);
    if (r.code !== 0) throw new Error(`backups --json exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  /** The live keys under a prefix of a snapshot file, as a real etcd restored from it serves them. */
  const keysInSnapshot = async (file: string, prefix: string): Promise<string[]> => {
    const name = `bs-check-${randomBytes(3).toString('hex')}`;
    const vol = `${name}-data`;
    const docker = (...args: string[]) => run('docker', args, { timeoutMs: 120_000 });
    try {
      const restored = await docker(
        'run', '--rm', '-v', `${vol}:/v`, '-v', `${file}:/s.db:ro`, '--entrypoint', '/usr/local/bin/etcdutl', ETCD_36_IMAGE,
        'snapshot', 'restore', '/s.db', '--data-dir=/v/d', '--name=check', '--initial-cluster=check=http://localhost:2380', '--initial-advertise-peer-urls=http://localhost:2380',
      ); // prettier-ignore
      if (restored.code !== 0) throw new Error(`etcdutl snapshot restore: ${restored.stderr}`);
      await docker('run', '-d', '--name', name, '--network', 'none', '-v', `${vol}:/v`, ETCD_36_IMAGE, '/usr/local/bin/etcd', '--data-dir=/v/d', '--name=check',
        '--initial-cluster=check=http://localhost:2380', '--initial-advertise-peer-urls=http://localhost:2380', '--listen-peer-urls=http://127.0.0.1:2380'); // prettier-ignore
      return await eventually(async () => {
        const r = await docker('exec', name, '/usr/local/bin/etcdctl', 'get', prefix, '--prefix', '--keys-only');
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout.split('\n').filter(Boolean);
      });
    } finally {
      await docker('rm', '-f', name);
      await docker('volume', 'rm', '-f', vol);
    }
  };

  beforeAll(async () => {
    sim = await SimHosts.up(3, 'bs');
    await sim.load('cdktf-etcd-cluster/etcd-backup:3');
    await sim.load(ETCD_34_IMAGE);
    store = await sim.s3(3, KEY_ID, SECRET, BUCKET);
    creds = join(dir, 's3.env');
    writeFileSync(creds, `AWS_ACCESS_KEY_ID=${KEY_ID}\nAWS_SECRET_ACCESS_KEY=${SECRET}\n`, { mode: 0o600 });
  });
  const afterCleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const f of afterCleanup) await f().catch(() => undefined);
    try {
      await second?.teardown();
    } finally {
      await sim?.down();
    }
  });

  const storeSpec = () => ({ endpoint: store, bucket: BUCKET, credentialsFile: creds, deltaEvery: '1s', maxBehind: '10s' });

  test('the whole host dies under a writer: a new cluster on another host is deployed from the store, losing only the last seconds', async () => {
    // etcd 3.4, the oldest we accept, backs up; the new cluster runs 3.6, the newest (a 3.4 snapshot restores there).
    first = await TestCluster.create('bs', {
      image: ETCD_34_IMAGE,
      primaries: 3,
      secondaries: 1,
      hosts: [sim.specHosts()[0]],
      placement: { primaries: ['h1', 'h1', 'h1'] },
      backup: { every: '1h', store: storeSpec() },
    });
    await first.apply();
    expect(first.deployment.lastOutput).toMatch(/matches the spec/);
    const c = first.client();
    const w = new Writer(c, '/it/bs/w/').start();
    // Closed however the test ends: an open client would keep jest from exiting.
    afterCleanup.push(async () => {
      await w.stop();
      c.close();
    });
    await sleep(12_000);
    // The host goes: off the network, then every container and volume of the cluster removed (the backups'
    // local volume with them). The Terraform state that deployed it is not used again either.
    const lossAt = Date.now();
    await sim.link(1, 'down');
    await sim.engine(0).removeObjectsOf(LABEL_CLUSTER, first.name);
    await w.stop();
    c.close();
    expect(await sim.engine(0).objectsOf(LABEL_CLUSTER, first.name)).toEqual([]);
    const acked = w.acknowledged.length;
    expect(acked).toBeGreaterThan(100);

    // What the store holds, by another client: one lineage with a full snapshot and deltas.
    const keys = await objects(first.name);
    expect(keys).toContain(`${first.name}/owner.json`);
    expect(keys.filter((k) => /\/full\/\d{20}-\d+\.db$/.test(k)).length).toBeGreaterThan(0);
    expect(keys.filter((k) => /\/delta\/\d{20}-\d{20}-/.test(k)).length).toBeGreaterThan(3);

    // A new cluster of the same name on host 2, from nothing but its spec and the store.
    second = await TestCluster.create('bs', {
      image: ETCD_36_IMAGE,
      // One primary: with TLS, primaries sharing a simulated host reach each other through its published ports
      // and present their certificates from Docker's gateway address, which etcd's peer check refuses (a
      // limit of TLS with several primaries per host, apart from backups).
      primaries: 1,
      secondaries: 1,
      hosts: [sim.specHosts()[1]],
      // With TLS: the backup container reads the cluster over TLS with the client certificate.
      tls: { dir: join(dir, 'pki') },
      backup: { every: '1h', store: storeSpec() },
    });
    expect(second.name).toBe(first.name);
    await ensurePki(join(dir, 'pki'), second.topology.tls!.nodes);
    secondSpec = join(second.workDir, 'cluster.yaml');
    writeFileSync(secondSpec, YAML.stringify(second.spec));
    // Listed through a one-off container of the backup image on host 2 (no backup container runs yet).
    const before = await listing();
    expect(before.lineages).toHaveLength(1);
    const snap = join(dir, 'latest.db');
    const fetched = await cli(['backups', 'fetch', '--out', snap]);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toContain(`wrote ${snap}: revision ${before.lineages[0].newest}`);

    await second.apply({ restore: { snapshot: snap } });
    expect(second.deployment.lastOutput).toMatch(/matches the spec/);
    const r = second.client();
    let present: Set<string>;
    try {
      present = new Set((await r.getAll().prefix('/it/bs/w/').keys()).map(String));
    } finally {
      r.close();
    }
    // What came back is a prefix of what was acknowledged (writes are sequential): no hole, nothing that was
    // never written (the one write in flight at the loss may be there or not).
    const firstLost = w.acknowledged.findIndex((k) => !present.has(k));
    const kept = firstLost === -1 ? acked : firstLost;
    expect(w.acknowledged.slice(kept).filter((k) => present.has(k))).toEqual([]);
    const inFlight = `/it/bs/w/${String(acked).padStart(6, '0')}`;
    expect([...present].filter((k) => !w.acknowledged.includes(k) && k !== inFlight)).toEqual([]);
    const rpoMs = kept === acked ? 0 : lossAt - w.ackTimes[kept];
    process.stdout.write(`[bs] host lost: ${acked} writes acknowledged, ${kept} restored, ${acked - kept} lost; RPO ${rpoMs} ms\n`);
    // Everything acknowledged more than 10 s before the loss is there: a full snapshot alone (taken before the
    // writer started) would have none of it.
    expect(kept).toBeGreaterThanOrEqual(w.ackTimes.filter((t) => t < lossAt - 10_000).length);
    expect(kept).toBeGreaterThan(0);
    expect((await planExitCode(second.deployment.dir, second.deployment.env)).code).toBe(0);
  });

  test('a point in time: backups names a del --prefix, and a fetch of the revision before it has every deleted key', async () => {
    const c = second!.client();
    let delRev: number;
    let lastRev: number;
    try {
      for (let i = 0; i < 20; i++) await c.put(`/it/bs/pit/${i}`).value(String(i));
      delRev = Number((await c.delete().prefix('/it/bs/pit/').exec()).header.revision);
      lastRev = Number((await c.put('/it/bs/after').value('x').exec()).header.revision);
    } finally {
      c.close();
    }
    const newest = await eventually(
      async () => {
        const l = (await listing()).lineages.pop()!;
        if (l.newest < lastRev) throw new Error(`the store has revision ${l.newest}, not yet ${lastRev}`);
        return l;
      },
      60_000,
      1000,
    );
    expect(newest.delta.some((d) => d.largestDeletionRevision === delRev && d.largestDeletionKeys === 20)).toBe(true);
    const table = await cli(['backups']);
    expect(table.stdout).toMatch(new RegExp(`deletion\\s+${newest.clusterId}\\s+${delRev}\\s.*20 keys deleted`));

    const pit = join(dir, 'before-delete.db');
    const r = await cli(['backups', 'fetch', '--revision', String(delRev - 1), '--out', pit]);
    expect(r.code).toBe(0);
    expect((await keysInSnapshot(pit, '/it/bs/pit/')).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `/it/bs/pit/${i}`).sort());
    const now = join(dir, 'newest.db');
    expect((await cli(['backups', 'fetch', '--out', now])).code).toBe(0);
    expect(await keysInSnapshot(now, '/it/bs/pit/')).toEqual([]);

    // Points it cannot reach, one line each, nothing written.
    const refused = async (args: string[], message: string) => {
      const out = join(dir, `refused-${randomBytes(3).toString('hex')}.db`);
      const x = await cli(['backups', 'fetch', '--out', out, ...args]);
      expect(x.code).toBe(2);
      expect(oneLine(x.stderr)).toContain(message);
      expect(existsSync(out)).toBe(false);
    };
    await refused(['--revision', String(lastRev + 100000)], `is past the newest backed-up revision (${newest.newest})`);
    await refused(['--revision', '2'], 'is before the oldest full snapshot');
    await refused(['--time', '2099-01-01T00:00:00Z'], 'is in the future');
    await refused(['--revision', 'abc'], '--revision: must be a positive whole number');
  });

  test('the store cut off for 30 s under a writer: verify warns while it is behind, then not; the deltas have no gap', async () => {
    const c = second!.client();
    const w = new Writer(c, '/it/bs/away/').start();
    try {
      await sleep(3000);
      await sim.link(3, 'down');
      await sleep(30_000);
      const behind = await cli(['verify', '--json']);
      expect(behind.code).toBe(0);
      const warned = JSON.parse(behind.stdout) as { ok: boolean; warnings: { subject: string; message: string }[] };
      expect(warned.ok).toBe(true);
      expect(warned.warnings.map((x) => x.message).join('\n')).toMatch(/the backup store is behind since .* more than backup.store.maxBehind 10s/);
      await sim.link(3, 'up');
      await eventually(
        async () => {
          const v = JSON.parse((await cli(['verify', '--json'])).stdout) as { warnings: unknown[] };
          if (v.warnings.length) throw new Error(JSON.stringify(v.warnings));
        },
        120_000,
        2000,
      );
    } finally {
      await sim.link(3, 'up');
      await w.stop();
    }
    let result;
    try {
      result = await w.finish(c);
    } finally {
      c.close();
    }
    expect(result.lost).toEqual([]);
    // Continuous from the lineage's full snapshot to the newest: a fetch of the newest passes its gap check,
    // and the deltas are one run.
    const l = await eventually(
      async () => {
        const x = (await listing()).lineages.pop()!;
        if (x.newest < result.acknowledged) throw new Error('not yet');
        return x;
      },
      60_000,
      1000,
    );
    const sorted = [...l.delta].sort((a, b) => a.first - b.first);
    const gaps = sorted.slice(1).filter((d, k) => d.first !== sorted[k].last + 1);
    expect(gaps).toEqual([]);
    // The first delta follows a full snapshot of the lineage (at start-up two may be taken, the deltas after the later).
    expect(l.full.some((x) => x.revision === sorted[0].first - 1)).toBe(true);
    const fetched = await cli(['backups', 'fetch', '--out', join(dir, 'after-outage.db')]);
    expect(fetched.code).toBe(0);
  });

  test("recover with no primary holding data takes the store's newest point", async () => {
    const c = second!.client();
    let lastRev: number;
    try {
      for (let i = 0; i < 10; i++) await c.put(`/it/bs/rec/${i}`).value(String(i));
      lastRev = Number((await c.put('/it/bs/rec/last').value('x').exec()).header.revision);
    } finally {
      c.close();
    }
    await eventually(
      async () => {
        const l = (await listing()).lineages.pop()!;
        if (l.newest < lastRev) throw new Error(`the store has revision ${l.newest}, not yet ${lastRev}`);
      },
      60_000,
      1000,
    );
    // The only primary's data is gone (its container and its volume): no member holds anything.
    const p = second!.topology.primaries[0];
    await sim.engine(1).removeContainer(p.name);
    // The restore step's one-shot container (exited) holds the volume too.
    await sim.engine(1).removeContainer(`${p.name}-restore`);
    await sim.engine(1).removeVolume(p.volume);
    const r = await second!.recover(['--yes']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/store:[0-9a-f]{16}@\d+/);
    const after = second!.client();
    try {
      expect((await after.getAll().prefix('/it/bs/rec/').keys()).length).toBe(11);
    } finally {
      after.close();
    }
    expect((await planExitCode(second!.deployment.dir, second!.deployment.env)).code).toBe(0);
  });

  test("bad input, one line each: wrong credentials, a missing bucket, another cluster's prefix, a corrupted object, a gap in the deltas", async () => {
    const variant = (store: Record<string, unknown>) => {
      const file = join(dir, `spec-${randomBytes(3).toString('hex')}.yaml`);
      writeFileSync(file, YAML.stringify({ ...second!.spec, backup: { ...second!.spec.backup, store: { ...storeSpec(), ...store } } }));
      return file;
    };
    const wrong = join(dir, 'wrong.env');
    writeFileSync(wrong, `AWS_ACCESS_KEY_ID=${KEY_ID}\nAWS_SECRET_ACCESS_KEY=not-${SECRET}\n`);
    const one = async (spec: string, args: string[], message: RegExp) => {
      const r = await etcdCluster([...args, '--spec', spec]);
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toMatch(message);
    };
    // The backup container runs with the right credentials: a one-off container asks with the wrong ones.
    await one(variant({ credentialsFile: wrong }), ['backups', 'fetch', '--out', join(dir, 'x.db')], /the credentials are refused/);
    await one(variant({ bucket: 'no-such-bucket' }), ['backups', 'fetch', '--out', join(dir, 'x.db')], /bucket "no-such-bucket" does not exist/);
    // Another cluster pointed at this cluster's prefix: refused, naming whose it is.
    const other = join(dir, 'other.yaml');
    const otherName = `${second!.name}-x`;
    writeFileSync(
      other,
      YAML.stringify({ ...second!.spec, tls: undefined, name: otherName, backup: { ...second!.spec.backup, store: { ...storeSpec(), prefix: second!.name } } }),
    );
    await one(other, ['backups'], new RegExp(`prefix "${second!.name}" holds the backups of cluster "${second!.name}", not "${otherName}"`));

    // A delta in the middle changed: its checksum no longer matches, and the object is named.
    // In a history with deltas enough (the recovery above started a new one), asked for by its cluster ID.
    const l = (await listing()).lineages.filter((x) => x.delta.length >= 3).pop()!;
    const prefix = (await listing()).prefix;
    const victim = l.delta[Math.floor(l.delta.length / 2)];
    const of = ['--cluster-id', l.clusterId];
    expect((await s3('PUT', `${prefix}/${victim.name}`, '{"rev":1}\n')).code).toBe(0);
    await one(
      secondSpec,
      ['backups', 'fetch', ...of, '--out', join(dir, 'x.db')],
      new RegExp(`object ${prefix}/${victim.name.replace(/[.]/g, '\\.')}: checksum mismatch`),
    );
    // Removed: a gap, named by its revisions.
    expect((await s3('DELETE', `${prefix}/${victim.name}`)).code).toBe(0);
    await one(
      secondSpec,
      ['backups', 'fetch', ...of, '--out', join(dir, 'x.db')],
      new RegExp(`the deltas have a gap: revisions ${victim.first} to ${victim.last} are missing`),
    );
  });

  test('cdktf destroy leaves the store objects in place', async () => {
    const before = await objects(second!.name);
    await second!.teardown();
    second = undefined;
    const after = await objects(first!.name);
    expect(after.length).toBeGreaterThan(0);
    expect(before.filter((k) => !after.includes(k))).toEqual([]);
  });
});
