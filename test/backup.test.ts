/**
 * Backups and restore without Docker (issue 16): reading snapshots, the backup container in the topology
 * and the JSON (left alone by scaling), the restore steps, and bad input, one line each.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTopology, expectationOf, readSnapshot, SpecError, validateSpec } from '../lib/model';
import { resourcesOf, scratchDir, synthStack } from './helpers/synth';

const FIXTURE = join(__dirname, 'fixtures', 'snapshot-rev51.db');
const NO_HASH = join(__dirname, 'fixtures', 'snapshot-rev51-nohash.db');
const topo = (props: Record<string, unknown>) => buildTopology(validateSpec({ name: 'b', ...props }));
const refusal = (build: () => unknown) => {
  try {
    build();
  } catch (e) {
    if (e instanceof SpecError) return e.message;
    throw e;
  }
  return 'accepted';
};

describe('reading a snapshot', () => {
  test('the revision etcdutl snapshot status reports (51 for the fixture etcd 3.5.21 wrote), its size and hash', () => {
    // consistentIndex and term: the raft index and term of the last entry applied to it (its `meta` bucket).
    expect(readSnapshot(FIXTURE, { sha256: true })).toEqual({
      revision: 51,
      bytes: 24608,
      hashed: true,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      consistentIndex: 54,
      term: 2,
    });
    expect(readSnapshot(NO_HASH)).toEqual({ revision: 51, bytes: 24576, hashed: false, consistentIndex: 54, term: 2 });
  });

  test('a file that is not one, and one that is not there', () => {
    const dir = scratchDir('notsnap');
    writeFileSync(join(dir, 'text.db'), 'hello\n'.repeat(1000));
    expect(() => readSnapshot(join(dir, 'text.db'))).toThrow(`${join(dir, 'text.db')}: not an etcd snapshot (no bbolt database header)`);
    expect(() => readSnapshot(join(dir, 'none.db'))).toThrow(`${join(dir, 'none.db')}: not found`);
  });
});

describe('the backup container', () => {
  test('takes snapshots of the primaries by their shared name, into a volume of its own', () => {
    const t = topo({ primaries: 3, secondaries: 1, backup: { every: '30m', keep: 48 } });
    expect(t.backup).toMatchObject({
      name: 'b-backup',
      image: 'cdktf-etcd-cluster/etcd-backup:3',
      command: [
        'run',
        '--endpoints=http://b-primaries:2379',
        '--dir=/backups',
        '--every=30m',
        '--keep=48',
        // The scheduled defragmenter, on by default with the backup container: etcd's rule with the quota.
        '--defrag-every=5m',
        '--quota-bytes=2147483648',
        '--defrag-quota-percent=80',
        '--defrag-reclaimable-bytes=209715200',
      ],
      volume: 'b-backups',
    });
    const onHost = topo({ backup: { hostPath: '/srv/etcd-backups' } }).backup!;
    expect([onHost.hostPath, onHost.volume]).toEqual(['/srv/etcd-backups', undefined]);
  });

  test('scaling secondaries or changing primaries leaves it alone', () => {
    const backupOf = (props: Record<string, unknown>) => {
      const r = resourcesOf(synthStack({ name: 'b', backup: {}, ...props }));
      return JSON.stringify([...r.entries()].filter(([k]) => k.includes('_backup_')));
    };
    const base = backupOf({ primaries: 3, secondaries: 1 });
    expect(base).toContain('b-backup');
    expect(backupOf({ primaries: 3, secondaries: 7 })).toBe(base);
    expect(backupOf({ primaries: 5, initialPrimaries: 3, secondaries: 1 })).toBe(base);
  });

  test.each([
    [{ backup: { every: '500ms' } }, 'backup.every: must be at least 1s (got "500ms")'],
    [{ backup: { every: 'daily' } }, 'backup.every: must be a duration like 1h, 30m or 15s (got "daily")'],
    [{ backup: { keep: 0 } }, 'backup.keep: must be at least 1 (got 0)'],
    [{ backup: { hostPath: 'backups' } }, 'backup.hostPath: must be an absolute directory on the Docker host (got "backups")'],
    [{ backup: {}, auth: {} }, 'backup: not available with auth yet: the backup container would need the root password in the Terraform state'],
  ])('refused: %j', (props, message) => expect(refusal(() => validateSpec({ name: 'b', ...props }))).toBe(message));
});

describe('the scheduled defragmenter (spec defrag), in the backup container', () => {
  const flags = (t: ReturnType<typeof topo>) => t.backup!.command.filter((f) => f.startsWith('--defrag') || f.startsWith('--quota'));

  test('its settings and the quota reach the container; the expectation carries the rule for the CLI', () => {
    const t = topo({ backup: {}, etcd: { quotaBackendBytes: 16 * 1024 ** 2 }, defrag: { every: '30s', quotaPercent: 70, reclaimableMiB: 1 } });
    expect(flags(t)).toEqual(['--defrag-every=30s', '--quota-bytes=16777216', '--defrag-quota-percent=70', '--defrag-reclaimable-bytes=1048576']);
    expect(expectationOf(t).space).toEqual({ quotaBytes: 16777216, quotaPercent: 70, reclaimableBytes: 1048576, defragEvery: '30s' });
  });

  test('enabled false turns it off; the rule stays for defrag --if-needed and reclaim', () => {
    const t = topo({ backup: {}, defrag: { enabled: false } });
    expect(flags(t)).toEqual([]);
    expect(t.backup!.command).toEqual(['run', '--endpoints=http://b-primaries:2379', '--dir=/backups', '--every=1h', '--keep=24']);
    expect(expectationOf(t).space).toEqual({ quotaBytes: 2147483648, quotaPercent: 80, reclaimableBytes: 209715200, defragEvery: null });
  });

  test('without backup there is no container and nothing scheduled; the rule is still recorded', () => {
    const t = topo({ etcd: { quotaBackendBytes: 4 * 1024 ** 2 } });
    expect(t.backup).toBeUndefined();
    expect(expectationOf(t).space).toEqual({ quotaBytes: 4194304, quotaPercent: 80, reclaimableBytes: 209715200, defragEvery: null });
    expect(topo({ defrag: { enabled: false } }).space.defragEvery).toBeNull();
  });

  test('changing its settings changes only the backup container (and the hook that records the rule)', () => {
    const changed = (props: Record<string, unknown>) => {
      const a = resourcesOf(synthStack({ name: 'b', backup: {} }));
      const b = resourcesOf(synthStack({ name: 'b', backup: {}, ...props }));
      return [...b.keys()].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))).map((k) => k.replace(/_[0-9A-F]{8}$/, ''));
    };
    expect(changed({ defrag: { every: '1m' } })).toEqual(['docker_container.cluster_backup_container', 'terraform_data.cluster_verify_hook']);
    expect(changed({ defrag: { enabled: false } })).toEqual(['docker_container.cluster_backup_container', 'terraform_data.cluster_verify_hook']);
  });

  test.each([
    [
      { defrag: {} },
      'defrag: the scheduled defragmenter runs in the backup container: add backup (bash scripts/backup-image.sh builds its image), or set defrag.enabled to false',
    ],
    [
      { defrag: { every: '1m' }, auth: {} },
      'defrag: not available with auth yet: the backup container would need the root password in the Terraform state; set defrag.enabled to false and run etcd-cluster defrag --if-needed and etcd-cluster reclaim from a scheduler of yours',
    ],
    [{ backup: {}, defrag: { every: '500ms' } }, 'defrag.every: must be at least 1s (got "500ms")'],
    [{ backup: {}, defrag: { every: 'often' } }, 'defrag.every: must be a duration like 5m, 30s or 1h (got "often")'],
    [{ backup: {}, defrag: { quotaPercent: 0 } }, 'defrag.quotaPercent: must be at least 1 (got 0)'],
    [{ backup: {}, defrag: { quotaPercent: 101 } }, 'defrag.quotaPercent: must be at most 100 (got 101)'],
    [{ backup: {}, defrag: { quotaPercent: 79.5 } }, 'defrag.quotaPercent: must be a whole number (got 79.5)'],
    [{ backup: {}, defrag: { reclaimableMiB: 0 } }, 'defrag.reclaimableMiB: must be at least 1 (got 0)'],
    [{ backup: {}, defrag: { reclaim: true } }, 'defrag.reclaim: unknown key (allowed: enabled, every, quotaPercent, reclaimableMiB)'],
  ])('refused: %j', (props, message) => expect(refusal(() => validateSpec({ name: 'b', ...props }))).toEqual(message));

  test('accepted: off without backup, and off with auth', () => {
    expect(refusal(() => validateSpec({ name: 'b', defrag: { enabled: false } }))).toBe('accepted');
    expect(refusal(() => validateSpec({ name: 'b', auth: {}, defrag: { enabled: false } }))).toBe('accepted');
  });
});

describe('restore', () => {
  test('every primary restores its data directory from the snapshot before it starts, with a token of the restored cluster', () => {
    const t = topo({ primaries: 3, restore: { snapshot: FIXTURE } });
    expect(t.restore).toEqual({ snapshot: FIXTURE, revision: 51 });
    const [p1, p2] = t.primaries;
    expect(p2.restore!.command).toEqual([
      '/usr/local/bin/etcdutl',
      'snapshot',
      'restore',
      '/restore/snapshot.db',
      '--name=b-primary-2',
      `--initial-cluster=${t.initialCluster}`,
      expect.stringMatching(/^--initial-cluster-token=b-etcd-cluster-restored-[0-9a-f]{8}$/),
      '--initial-advertise-peer-urls=http://b-primary-2:2380',
      '--data-dir=/var/lib/etcd/data',
    ]);
    expect(p1.restore!.command[6]).toBe(p2.restore!.command[6]);
    expect(topo({ restore: { snapshot: NO_HASH } }).primaries[0].restore!.command.at(-1)).toBe('--skip-hash-check');
  });

  test('with bumpRevision, etcdutl raises the revision and marks it compacted, and the hook expects the raised revision', () => {
    const t = topo({ primaries: 1, restore: { snapshot: FIXTURE, bumpRevision: 1_000_000_000 } });
    expect(t.primaries[0].restore!.command.slice(-2)).toEqual(['--bump-revision=1000000000', '--mark-compacted']);
    expect(t.restore).toEqual({ snapshot: FIXTURE, revision: 1_000_000_051 });
    expect(refusal(() => validateSpec({ name: 'b', restore: { snapshot: FIXTURE, bumpRevision: -1 } }))).toBe(
      'restore.bumpRevision: must be a whole number of revisions, 0 or more (got -1)',
    );
  });

  test('a primary replaced later (replace, or a recovery) joins the restored cluster instead of being restored', () => {
    const t = topo({ primaries: 3, replace: { 2: 1 }, restore: { snapshot: FIXTURE } });
    expect(t.primaries.map((p) => Boolean(p.restore))).toEqual([true, false, true]);
    expect(t.primaries[1].command).toContain('--initial-cluster-state=existing');
  });

  test('the JSON: a one-shot container per primary, run before the member, that fails the deploy unless it exited 0', () => {
    const r = resourcesOf(synthStack({ name: 'b', primaries: 1, restore: { snapshot: FIXTURE } }));
    const step = [...r.entries()].find(([k]) => k.startsWith('docker_container.cluster_primary-1_restore'))![1] as Record<string, any>;
    expect(step).toMatchObject({ must_run: false, attach: true, logs: true, name: 'b-primary-1-restore' });
    expect(step.lifecycle.postcondition[0].condition).toBe('${self.exit_code == 0}');
    expect(step.upload[0].source).toMatch(/^assets\/cluster_restore_/);
    const member = [...r.entries()].find(([k]) => k.startsWith('docker_container.cluster_primary-1_container'))![1] as { depends_on: string[] };
    expect(member.depends_on).toEqual([expect.stringMatching(/^docker_container\.cluster_primary-1_restore/)]);
  });

  test("the verify hook expects at least the snapshot's revision", () => {
    const r = resourcesOf(synthStack({ name: 'b', primaries: 1, restore: { snapshot: FIXTURE } }));
    const hook = [...r.entries()].find(([k]) => k.startsWith('terraform_data.cluster_verify_hook'))![1] as { input: { minRevision: string } };
    expect(hook.input.minRevision).toBe('51');
  });

  test.each([
    ['a missing file', () => validateAndBuild({ restore: { snapshot: '/nonexistent/s.db' } }), 'restore.snapshot: /nonexistent/s.db: not found'],
    [
      'a file that is not a snapshot',
      () => {
        const f = join(scratchDir('notsnap'), 'x.db');
        writeFileSync(f, 'x'.repeat(5000));
        return validateAndBuild({ restore: { snapshot: f } });
      },
      /^restore\.snapshot: .*x\.db: not an etcd snapshot \(no bbolt database header\)$/,
    ],
    [
      'joiners in a restored cluster',
      () => validateAndBuild({ primaries: 3, initialPrimaries: 1, restore: { snapshot: FIXTURE } }),
      'restore: every primary of a restored cluster is a founder; leave out initialPrimaries (got initialPrimaries 1, primaries 3)',
    ],
    [
      'an etcd 3.4 image (no etcdutl, no --bump-revision)',
      () => validateAndBuild({ image: 'cdktf-etcd-cluster/etcd:3.4.23-local', restore: { snapshot: FIXTURE } }),
      'restore: needs etcd 3.5 or later (etcdutl snapshot restore, --bump-revision); image cdktf-etcd-cluster/etcd:3.4.23-local is etcd 3.4.23: restore into a cluster of a 3.5 image (a 3.4 snapshot restores there)',
    ],
  ])('refused: %s', (_what, build, message) => {
    const got = refusal(build);
    if (typeof message === 'string') expect(got).toBe(message);
    else expect(got).toMatch(message);
  });
});

function validateAndBuild(props: Record<string, unknown>) {
  return buildTopology(validateSpec({ name: 'b', ...props }));
}
