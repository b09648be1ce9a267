/**
 * The backup store off the host (issue 36) without Docker: the spec's `backup.store` and its refusals, the
 * backup container's flags and mounts, what the synthesized JSON holds (a path, never a credential), the
 * hook's input, the `backups` table, and the freshness warnings.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storeRows } from '../lib/cli/commands/backups';
import { buildTopology, expectationOf, SpecError, validateSpec } from '../lib/model';
import { storeWarnings } from '../lib/runtime/judge';
import type { StoreLineage } from '../lib/runtime/store';
import { scratchDir, synthStack } from './helpers/synth';

const STORE = { endpoint: 'http://10.0.0.5:8333', bucket: 'etcd-backups', credentialsFile: '/etc/etcd-backup/s3.env' };
const topo = (props: Record<string, unknown>) => buildTopology(validateSpec({ name: 'b', ...props }));
const refusal = (store: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  try {
    topo({ backup: { store: { ...STORE, ...store } }, ...extra });
  } catch (e) {
    if (e instanceof SpecError) return e.message;
    throw e;
  }
  return 'accepted';
};

describe('backup.store in the spec', () => {
  test('the container gets the store flags, the delta period, and the host files read-only', () => {
    const t = topo({ backup: { store: { ...STORE, caFile: '/etc/etcd-backup/ca.pem', endpoint: 'https://s3.example:9000' } } });
    expect(t.backup!.command).toEqual(
      expect.arrayContaining([
        '--store-endpoint=https://s3.example:9000',
        '--store-bucket=etcd-backups',
        // The prefix defaults to the cluster's name.
        '--store-prefix=b',
        '--store-region=us-east-1',
        '--store-path-style=true',
        '--store-credentials=/store/credentials',
        '--store-ca=/store/ca.pem',
        '--cluster=b',
        '--delta-every=1s',
      ]),
    );
    expect(t.backup!.binds).toEqual([
      { hostPath: '/etc/etcd-backup/s3.env', containerPath: '/store/credentials' },
      { hostPath: '/etc/etcd-backup/ca.pem', containerPath: '/store/ca.pem' },
    ]);
    // The hook's input: how the CLI reaches the store in a one-off container of the same image.
    expect(expectationOf(t).backup).toEqual({
      container: 'b-backup',
      docker: null,
      store: { image: 'cdktf-etcd-cluster/etcd-backup:3', args: t.backup!.store!.args, binds: t.backup!.binds, maxBehind: '30s', maxBehindMs: 30_000 },
    });
    // Without a store, the hook's input is what it was (no replacement on upgrade).
    expect(expectationOf(topo({ backup: {} })).backup).toEqual({ container: 'b-backup', docker: null });
  });

  test('the synthesized JSON holds the credentials file path, never what is in it', () => {
    const dir = scratchDir('store-secret');
    const creds = join(dir, 's3.env');
    writeFileSync(creds, 'AWS_ACCESS_KEY_ID=AKIDNEVERINJSON\nAWS_SECRET_ACCESS_KEY=SECRETNEVERINJSON\n');
    const json = JSON.stringify(synthStack({ name: 'b', backup: { store: { ...STORE, credentialsFile: creds } } }));
    expect(json).toContain(creds);
    expect(json).not.toContain('NEVERINJSON');
    expect(readFileSync(creds, 'utf8')).toContain('AKIDNEVERINJSON');
    // Mounted read-only into the backup container.
    expect(json).toMatch(new RegExp(`"container_path":"/store/credentials","host_path":"${creds.replace(/[/.]/g, '\\$&')}","read_only":true`));
  });

  test.each([
    [{ endpoint: 's3.example:9000' }, "backup.store.endpoint: must be the store's URL, http://host:port or https://host:port, with no path"],
    [{ endpoint: 'http://s3.example:9000/bucket' }, "backup.store.endpoint: must be the store's URL"],
    [{ bucket: 'No_Such' }, 'backup.store.bucket: must be an S3 bucket name'],
    [{ prefix: '/a/' }, 'backup.store.prefix: must be words of letters'],
    [{ credentialsFile: 'relative.env' }, 'backup.store.credentialsFile: must be an absolute file on the Docker host'],
    [{ caFile: '/ca.pem' }, 'backup.store.caFile: only for an https endpoint (got endpoint "http://10.0.0.5:8333")'],
    [{ deltaEvery: '10ms' }, 'backup.store.deltaEvery: must be from 100ms to 1m (got "10ms")'],
    [{ deltaEvery: '5s', maxBehind: '6s' }, 'backup.store.maxBehind: must be at least 1s and twice deltaEvery (got "6s", deltaEvery "5s")'],
    [{ secret: 'x' }, 'backup.store'],
  ])('refuses %j in one line naming the field', (store, message) => {
    const m = refusal(store);
    expect(m).toContain(message);
    expect(m.split('\n')).toHaveLength(1);
  });

  test('a missing credentials file is refused: the store needs one', () => {
    expect(refusal({ credentialsFile: undefined })).toContain('backup.store.credentialsFile');
  });
});

describe('what the store holds, as backups lists it', () => {
  const lineage = (id: string): StoreLineage => ({
    clusterId: id,
    newest: 70,
    latest: '2026-12-07T10:02:00Z',
    full: [{ name: 'f1', revision: 10, taken: '2026-12-07T10:00:00Z', bytes: 100 }],
    delta: [
      { name: 'd1', first: 11, last: 30, from: '2026-12-07T10:00:01Z', to: '2026-12-07T10:00:02Z', bytes: 10 },
      {
        name: 'd2',
        first: 31,
        last: 40,
        from: '2026-12-07T10:00:02Z',
        to: '2026-12-07T10:00:03Z',
        bytes: 10,
        largestDeletionRevision: 35,
        largestDeletionKeys: 20,
      },
      {
        name: 'd3',
        first: 41,
        last: 45,
        from: '2026-12-07T10:00:03Z',
        to: '2026-12-07T10:00:04Z',
        bytes: 10,
        largestDeletionRevision: 42,
        largestDeletionKeys: 1,
      },
      // A gap: a new run.
      { name: 'd4', first: 60, last: 70, from: '2026-12-07T10:01:00Z', to: '2026-12-07T10:02:00Z', bytes: 10 },
    ],
  });

  test('full snapshots, runs of continuous deltas, and deletions of more than one key, in revision order', () => {
    expect(storeRows([lineage('00000000000000aa')]).map((r) => [r.kind, r.revisions, r.detail])).toEqual([
      ['full', '10', '100 bytes'],
      ['deltas', '11-45', '3 objects, 30 bytes'],
      ['deletion', '35', '20 keys deleted'],
      ['deltas', '60-70', '1 objects, 10 bytes'],
    ]);
  });
});

describe('the store freshness warnings', () => {
  const e = expectationOf(topo({ backup: { store: { ...STORE, maxBehind: '30s' } } }));
  const now = Date.parse('2026-12-07T10:00:00Z');
  const at = (s: number) => new Date(now - s * 1000).toISOString();

  test('none while the container reports and keeps up', () => {
    expect(storeWarnings(e, { store: { position: { revision: 9, at: at(1) } } }, now)).toEqual([]);
    // Behind for less than maxBehind: not yet.
    expect(storeWarnings(e, { store: { position: { revision: 9, at: at(1), behindSince: at(20) } } }, now)).toEqual([]);
  });

  test('behind for longer than maxBehind, silent, or unreadable: a warning naming the backup container', () => {
    expect(storeWarnings(e, { store: { position: { revision: 9, at: at(1), behindSince: at(45) } } }, now)).toEqual([
      {
        subject: 'b-backup',
        message: expect.stringContaining(
          `the backup store is behind since ${at(45)} (45s, more than backup.store.maxBehind 30s): the newest revision there is 9`,
        ),
      },
    ]);
    expect(storeWarnings(e, { store: { position: { revision: 9, at: at(90) } } }, now)[0].message).toContain('last reported its store position');
    expect(storeWarnings(e, { store: { error: 'it has not reported yet' } }, now)[0].message).toBe(
      'its position in the backup store is unknown: it has not reported yet',
    );
  });

  test('a cluster without a store is never warned about one', () => {
    expect(storeWarnings(expectationOf(topo({ backup: {} })), { store: { error: 'x' } }, now)).toEqual([]);
  });
});

describe('a store the backup container cannot use', () => {
  test('its refusal is the warning, until it works', () => {
    const e = expectationOf(topo({ backup: { store: STORE } }));
    const now = Date.parse('2026-12-07T10:00:00Z');
    const error = 'store http://10.0.0.5:8333: the credentials are refused (InvalidAccessKeyId)';
    expect(storeWarnings(e, { store: { position: { revision: 0, at: new Date(now).toISOString(), error } } }, now)).toEqual([
      { subject: 'b-backup', message: `the backup container cannot use its store: ${error}` },
    ]);
  });
});
