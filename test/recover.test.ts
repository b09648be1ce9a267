/**
 * Issue 24 without Docker: reading a member's progress from its WAL, choosing the survivor (and every
 * refusal), the spec a recovery writes (comments kept), the rejoiners' flags that spec synthesizes, and the
 * survivor's one-off `--force-new-cluster` flags.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as YAML from 'yaml';
import type { Expectation } from '../lib/contract';
import { buildTopology, SpecError, validateSpec } from '../lib/model';
import { editSpecText, forceNewClusterCommand, propsText, snapshotChanges, survivorChanges } from '../lib/model/recovery';
import { readWal, untar, walFilesOf } from '../lib/runtime/member-data';
import { interrupted, onInterrupt, trapInterrupts } from '../lib/runtime/interrupt';
import { recover, RECOVER_STATE_FILE } from '../lib/runtime/recover';
import { unsafeForceNewCluster } from '../lib/runtime/recover-survivor';
import type { RecoveryStack } from '../lib/runtime/recover-stack';
import { decide, type Survey, type SurvivorRow } from '../lib/runtime/survivors';
import { scratchDir } from './helpers/synth';

const WAL_FIXTURE = join(__dirname, 'fixtures', 'wal-3.6.16-commit408.wal');

/** A protobuf varint. */
const varint = (n: number) => {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
};
const field = (f: number, v: number | Buffer) =>
  typeof v === 'number' ? Buffer.concat([varint(f * 8), varint(v)]) : Buffer.concat([varint(f * 8 + 2), varint(v.length), v]);
/** One WAL frame: length (with padding to 8 bytes flagged in the top byte), then a walpb.Record. */
function frame(type: number, data: Buffer): Buffer {
  const rec = Buffer.concat([field(1, type), field(2, 0), field(3, data)]);
  const pad = (8 - (rec.length % 8)) % 8;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(rec.length) | (pad ? (0x80n | BigInt(pad)) << 56n : 0n));
  return Buffer.concat([len, rec, Buffer.alloc(pad)]);
}
const entry = (term: number, index: number) => frame(2, Buffer.concat([field(1, 0), field(2, term), field(3, index), field(4, Buffer.from('x'))]));
const hardState = (term: number, commit: number) => frame(3, Buffer.concat([field(1, term), field(2, 1), field(3, commit)]));

describe("a member's progress from its WAL", () => {
  test('a WAL etcd 3.6.16 wrote: the newest HardState and the last entry', () => {
    expect(readWal([readFileSync(WAL_FIXTURE)])).toEqual({ commit: 408, term: 2, lastIndex: 408, lastTerm: 2, snapshotIndex: 0, records: 816 });
  });

  test('entries written beyond the commit index, across two files; a zero-filled and a torn tail end a file', () => {
    const first = Buffer.concat([hardState(1, 3), entry(1, 1), entry(1, 2), entry(1, 3), Buffer.alloc(64)]);
    const torn = Buffer.alloc(16);
    torn.writeBigUInt64LE(4096n); // a length running past the end: torn, ignored
    const second = Buffer.concat([hardState(2, 4), entry(2, 4), entry(2, 5), torn]);
    expect(readWal([first, second])).toEqual({ commit: 4, term: 2, lastIndex: 5, lastTerm: 2, snapshotIndex: 0, records: 7 });
    expect(() => readWal([Buffer.concat([entry(1, 1)])])).toThrow('no raft HardState in the WAL');
  });

  test('the files of a tar of member/wal, oldest first, without the preallocated .tmp', () => {
    const tar = (files: [string, Buffer][]) =>
      Buffer.concat([
        ...files.flatMap(([name, data]) => {
          const h = Buffer.alloc(512);
          h.write(name, 0);
          h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
          h.write('0', 156);
          return [h, data, Buffer.alloc((512 - (data.length % 512)) % 512)];
        }),
        Buffer.alloc(1024),
      ]);
    const files = untar(
      tar([
        ['wal/0.tmp', Buffer.from('tmp')],
        ['wal/0000000000000001-0000000000000100.wal', Buffer.from('second')],
        ['wal/0000000000000000-0000000000000000.wal', Buffer.from('first')],
      ]),
    );
    expect(files.map((f) => f.name)).toEqual(['wal/0.tmp', 'wal/0000000000000001-0000000000000100.wal', 'wal/0000000000000000-0000000000000000.wal']);
    expect(walFilesOf(files).map(String)).toEqual(['first', 'second']);
  });
});

const row = (index: number, state: SurvivorRow['state'], raftIndex?: number, extra: Partial<SurvivorRow> = {}): SurvivorRow => ({
  name: `d-primary-${index}`,
  index,
  state,
  ...(raftIndex !== undefined ? { raftIndex, raftTerm: 2, revision: raftIndex - 7 } : {}),
  ...extra,
});
const lost = (index: number) => row(index, 'lost', undefined, { error: `no volume d-primary-${index}-data` });
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('choosing the survivor', () => {
  const survey = (...rows: SurvivorRow[]): Survey => ({ cluster: 'd', rows });

  test('the most advanced; among equals one that answers, then the lowest number', () => {
    const s = survey(row(1, 'stopped', 208), lost(2), row(3, 'answers', 408), row(4, 'volume only', 408), lost(5));
    expect(decide(s)).toEqual({ kind: 'survivor', from: s.rows[2], ahead: [] });
    const tie = survey(row(1, 'stopped', 408), row(2, 'volume only', 408), lost(3));
    expect(decide(tie)).toMatchObject({ from: { name: 'd-primary-1' } });
  });

  test('a lagging survivor only with --accept-loss, by name or number; the one ahead is reported', () => {
    const s = survey(row(1, 'answers', 408), lost(2), row(3, 'stopped', 208));
    expect(refusal(() => decide(s, { from: 'd-primary-3' }))).toBe(
      'refusing to recover d from d-primary-3: d-primary-1 is ahead of it (raft index 408 against 208, revision 401 against 201): what it holds beyond would be lost; pass --accept-loss to recover from it anyway',
    );
    expect(decide(s, { from: '3', acceptLoss: true })).toEqual({ kind: 'survivor', from: s.rows[2], ahead: [s.rows[0]] });
    expect(decide(s, { from: 'd-primary-1' })).toMatchObject({ from: { name: 'd-primary-1' } });
  });

  test.each<[string, Survey, Parameters<typeof decide>[1], string]>([
    [
      'quorum intact',
      { cluster: 'd', rows: [row(1, 'answers', 9), row(2, 'answers', 9), lost(3)], quorumVia: 'd-primary-1' },
      {},
      'refusing to recover d: it has a quorum (2 of 3 primaries answer, a linearizable read through d-primary-1 succeeded); to rebuild a failed primary use replace (README, "Replacing a failed primary")',
    ],
    [
      'no survivor, no snapshot',
      survey(lost(1), lost(2), lost(3)),
      {},
      'refusing to recover d: no primary has data left and there is no snapshot (no backup container with a snapshot; name a file with --snapshot)',
    ],
    [
      'unreadable data',
      survey(
        row(1, 'answers', 9),
        row(2, 'unreadable', undefined, { error: 'volume d-primary-2-data: member/snap/db: not an etcd database (no bbolt database header)' }),
        lost(3),
      ),
      {},
      'refusing to recover d: the data of d-primary-2 cannot be read (volume d-primary-2-data: member/snap/db: not an etcd database (no bbolt database header)); it may be the most advanced survivor: fix what keeps it from being read, or name the survivor to recover from with --from and --accept-loss',
    ],
    [
      'named, beside unreadable data',
      survey(row(1, 'answers', 9), row(2, 'unreadable', undefined, { error: 'x' }), lost(3)),
      { from: '1' },
      'refusing to recover d from d-primary-1: the data of d-primary-2 cannot be read, so it may be ahead; pass --accept-loss to recover from it anyway',
    ],
    [
      'named, without data',
      survey(row(1, 'answers', 9), lost(2), lost(3)),
      { from: '2' },
      'refusing to recover d from d-primary-2: it has no data (no volume, or an empty one)',
    ],
    [
      'named, unknown',
      survey(row(1, 'answers', 9), lost(2), lost(3)),
      { from: 'd-primary-7' },
      '--from: d has no primary d-primary-7 (primaries: d-primary-1, d-primary-2, d-primary-3)',
    ],
  ])('refused: %s', (_what, s, opts, message) => expect(refusal(() => decide(s, opts))).toBe(message));

  test('no survivor, with a snapshot', () => {
    expect(decide(survey(lost(1), lost(2), lost(3)), { snapshot: true })).toEqual({ kind: 'snapshot' });
  });

  test('a survivor killed with its database ahead of its WAL: refused on etcd releases that drop those entries', () => {
    // The version as the model reads it from the image's tag (the target's image.version).
    const stack = (image: string) =>
      ({ cluster: 'd', primaries: [{ name: 'd-primary-1', image }], etcdVersion: /:v?(\d+\.\d+\.\d+)/.exec(image)?.[1] }) as unknown as RecoveryStack;
    const killed = row(1, 'stopped', 408, { walCommit: 407, dbIndex: 408 });
    expect(refusal(() => unsafeForceNewCluster(stack('gcr.io/etcd-development/etcd:v3.5.21'), killed))).toBe(
      "refusing to recover d from d-primary-1: it stopped uncleanly and its database (raft index 408) is ahead of its WAL's commit index (407); etcd 3.5.21 would drop those entries in --force-new-cluster and members joining later would diverge (fixed in etcd 3.5.22 and 3.6.1): move the cluster's image to a fixed patch release (same minor version), synthesize, and run recover again",
    );
    // No 3.4 release has the fix: the advice is another way, not a patch release.
    expect(refusal(() => unsafeForceNewCluster(stack('cdktf-etcd-cluster/etcd:3.4.23-local'), killed))).toBe(
      "refusing to recover d from d-primary-1: it stopped uncleanly and its database (raft index 408) is ahead of its WAL's commit index (407); etcd 3.4.23 would drop those entries in --force-new-cluster and members joining later would diverge, and no 3.4 release fixes it (3.5.22 and 3.6.1 do): recover from a snapshot into a 3.5 image, or name another survivor with --from",
    );
    expect(refusal(() => unsafeForceNewCluster(stack('example/etcd:latest'), killed))).toMatch(
      /the etcd of example\/etcd:latest \(its version is not in the tag\)/,
    );
    for (const image of ['gcr.io/etcd-development/etcd:v3.5.22', 'cdktf-etcd-cluster/etcd:3.6.16-local', 'x/etcd:3.7.0']) {
      expect(refusal(() => unsafeForceNewCluster(stack(image), killed))).toBe('accepted');
    }
    expect(refusal(() => unsafeForceNewCluster(stack('x/etcd:3.5.21'), row(1, 'stopped', 408, { walCommit: 408, dbIndex: 408 })))).toBe('accepted');
  });
});

describe('the spec a recovery writes', () => {
  const text = ['# orders', 'name: d # the name', 'primaries: 3', 'replace:', '  2: 1 # replaced in May', 'secondaries: 2', ''].join('\n');

  test('from a survivor: the next generation of every other primary, and the recovery; comments stay', () => {
    const changes = survivorChanges({ primaries: 3, replace: { 2: 1 } }, 1);
    expect(changes).toEqual({ kind: 'survivor', from: 1, replace: { 2: 2, 3: 1 }, recovery: { from: 1, rejoined: { 2: 2, 3: 1 } } });
    const once = editSpecText(text, 'cluster.yaml', changes);
    expect(once).toBe(
      [
        '# orders',
        'name: d # the name',
        'primaries: 3',
        'replace:',
        '  2: 2 # replaced in May',
        '  3: 1',
        'secondaries: 2',
        '# written by etcd-cluster recover: keep the entries (README, "When quorum is lost")',
        'recoveries:',
        '  - from: 1',
        '    rejoined:',
        '      2: 2',
        '      3: 1',
        '',
      ].join('\n'),
    );
    // A second recovery adds its own record and keeps the first.
    const twice = editSpecText(once, 'cluster.yaml', survivorChanges(validateSpec({ name: 'd', ...YAML.parse(once) }), 3));
    const spec = validateSpec(YAML.parse(twice));
    expect(spec.replace).toEqual({ 1: 1, 2: 3, 3: 1 });
    expect(spec.recoveries).toEqual([
      { from: 1, rejoined: { 2: 2, 3: 1 } },
      { from: 3, rejoined: { 1: 1, 2: 3 } },
    ]);
  });

  test('a JSON spec, construct props, and a restore from a snapshot', () => {
    const json = editSpecText('{ "name": "d", "primaries": 3 }', 'cluster.json', survivorChanges({ primaries: 3, replace: {} }, 2));
    expect(JSON.parse(json)).toEqual({ name: 'd', primaries: 3, replace: { 1: 1, 3: 1 }, recoveries: [{ from: 2, rejoined: { 1: 1, 3: 1 } }] });
    expect(propsText(survivorChanges({ primaries: 3, replace: {} }, 2))).toBe(
      'replace: {"1":1,"3":1},\nrecoveries: [...recoveries, {"from":2,"rejoined":{"1":1,"3":1}}], // after any recoveries already there',
    );
    const restored = editSpecText(
      'name: d\nprimaries: 3\ninitialPrimaries: 1\nreplace: { 2: 1 }\nrecoveries: [{ from: 1, rejoined: { 2: 1 } }]\n',
      'c.yaml',
      snapshotChanges('backups/s.db'),
    );
    expect(restored).toBe('name: d\nprimaries: 3\nrestore:\n  snapshot: backups/s.db\n  bumpRevision: 1000000000\n');
  });
});

describe('the rejoiners a recovery records', () => {
  const initialCluster = (props: Record<string, unknown>) =>
    buildTopology(validateSpec({ name: 'd', ...props })).primaries.map((p) => [
      p.command
        .find((f) => f.startsWith('--initial-cluster='))!
        .slice('--initial-cluster='.length)
        .replace(/=http:\/\/d-primary-\d:2380/g, '')
        .replace(/d-primary-/g, ''),
      p.command.find((f) => f.startsWith('--initial-cluster-state='))!.split('=')[1],
    ]);

  test('each starts with the members it finds: the survivor and the primaries numbered below it', () => {
    expect(initialCluster({ primaries: 3, replace: { 2: 1, 3: 1 }, recoveries: [{ from: 1, rejoined: { 2: 1, 3: 1 } }] })).toEqual([
      ['1,2,3', 'new'],
      ['1,2', 'existing'],
      ['1,2,3', 'existing'],
    ]);
    expect(initialCluster({ primaries: 5, replace: { 1: 1, 2: 1, 4: 1, 5: 1 }, recoveries: [{ from: 3, rejoined: { 1: 1, 2: 1, 4: 1, 5: 1 } }] })).toEqual([
      ['1,3', 'existing'],
      ['1,2,3', 'existing'],
      ['1,2,3,4,5', 'new'],
      ['1,2,3,4', 'existing'],
      ['1,2,3,4,5', 'existing'],
    ]);
  });

  test('a later replacement of a rejoined primary lists every primary again; an earlier recovery keeps its record', () => {
    const spec = {
      primaries: 3,
      replace: { 1: 1, 2: 3, 3: 1 },
      recoveries: [
        { from: 1, rejoined: { 2: 2, 3: 1 } },
        { from: 3, rejoined: { 1: 1, 2: 2 } },
      ],
    };
    // Primary 3 rejoined in the first recovery and survived the second: its flags stay as they were.
    expect(initialCluster(spec)).toEqual([
      ['1,3', 'existing'],
      ['1,2,3', 'existing'],
      ['1,2,3', 'existing'],
    ]);
  });

  test.each([
    [
      { replace: {}, recoveries: [{ from: 1, rejoined: { 2: 1 } }] },
      'recoveries.0.rejoined.2: primary 2 rejoined at generation 1, but replace.2 is not set; keep the replace entry that etcd-cluster recover wrote',
    ],
    [
      { replace: { 1: 1 }, recoveries: [{ from: 1, rejoined: { 1: 1 } }] },
      'recoveries.0.rejoined.1: primary 1 is the one the cluster was recovered from; it did not rejoin',
    ],
    [{ recoveries: [{ from: 0, rejoined: {} }] }, 'recoveries.0.from: must be a primary number 1 to 9 (got 0)'],
  ])('refused: %j', (props, message) => {
    let got = 'accepted';
    try {
      validateSpec({ name: 'd', primaries: 3, ...props });
    } catch (e) {
      got = e instanceof SpecError ? e.message : String(e);
    }
    expect(got).toBe(message);
  });
});

describe("the survivor's one-off run", () => {
  test('its own flags without listeners, bootstrap and TLS flags, plus --force-new-cluster on loopback', () => {
    const t = buildTopology(validateSpec({ name: 'd', primaries: 3, etcd: { extraFlags: ['--max-request-bytes=262144'] } }));
    expect(forceNewClusterCommand(t.primaries[0].command, false)).toEqual([
      '/usr/local/bin/etcd',
      '--name=d-primary-1',
      '--data-dir=/var/lib/etcd/data',
      '--advertise-client-urls=http://d-primary-1:2379',
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=1h',
      '--quota-backend-bytes=2147483648',
      '--max-request-bytes=262144',
      '--listen-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--force-new-cluster',
    ]);
    const tls = forceNewClusterCommand(
      [
        'etcd',
        '--name=x',
        '--advertise-client-urls=https://x:2379',
        '--cert-file=/c',
        '--key-file=/k',
        '--trusted-ca-file=/ca',
        '--client-cert-auth',
        '--peer-cert-file=/c',
        '--peer-client-cert-auth',
        '--listen-metrics-urls=http://0.0.0.0:2381',
      ],
      true,
    );
    expect(tls).toEqual([
      'etcd',
      '--name=x',
      '--advertise-client-urls=http://x:2379',
      '--listen-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--force-new-cluster',
    ]);
  });
});

describe('a run that resumes a recorded recovery', () => {
  const e = { target: { cluster: 'd' } } as unknown as Expectation;
  const original = 'name: d\nprimaries: 3\n';
  const changes = survivorChanges({ primaries: 3, replace: {} }, 1);
  /** A stack directory with a recovery from d-primary-1 recorded; the spec file as given. */
  function recorded(spec: string): { dir: string; specFile: string } {
    const dir = scratchDir('recover-resume');
    const specFile = join(dir, 'cluster.yaml');
    writeFileSync(specFile, spec);
    const state = {
      version: 1,
      cluster: 'd',
      changes,
      phase: 'chosen',
      from: 'd-primary-1',
      specFile,
      originalSpec: original,
      survey: [row(1, 'stopped', 9), lost(2), lost(3)],
      startedAt: '2026-11-24T00:00:00.000Z',
    };
    writeFileSync(join(dir, RECOVER_STATE_FILE), JSON.stringify(state));
    return { dir, specFile };
  }
  const run = (dir: string, extra: Partial<Parameters<typeof recover>[1]> = {}) =>
    recover(e, {
      dir,
      timeoutMs: 1000,
      say: () => undefined,
      confirm: async () => true,
      ...extra,
    }).then(
      () => 'finished',
      (err: Error) => `${err.constructor.name}: ${err.message}`,
    );

  test('another --from or a --snapshot is refused, not ignored; nothing changes', async () => {
    const { dir, specFile } = recorded(editSpecText(original, 'cluster.yaml', changes));
    const before = readFileSync(specFile, 'utf8');
    expect(await run(dir, { from: 'd-primary-3' })).toBe(
      `RecoveryRefused: refusing --from d-primary-3: the recovery of d from d-primary-1 is in progress (recorded in ${join(dir, RECOVER_STATE_FILE)}); run etcd-cluster recover without it to continue that one`,
    );
    expect(await run(dir, { snapshot: join(dir, 's.db') })).toMatch(
      /^RecoveryRefused: refusing --snapshot .*s\.db: the recovery of d from d-primary-1 is in progress/,
    );
    expect(readFileSync(specFile, 'utf8')).toBe(before);
    expect(existsSync(join(dir, RECOVER_STATE_FILE))).toBe(true);
    // The recorded choice, by name or number, is no other choice: the run goes on (to the stack, missing here).
    expect(await run(dir, { from: '1' })).toMatch(/^ContractError: .* holds no cdk\.tf\.json/);
  });

  test('stopped between recording the state and writing the spec: the spec is written on resume', async () => {
    const { dir, specFile } = recorded(original);
    expect(await run(dir)).toMatch(/^ContractError: .* holds no cdk\.tf\.json/);
    expect(YAML.parse(readFileSync(specFile, 'utf8'))).toMatchObject({ replace: { 2: 1, 3: 1 }, recoveries: [{ from: 1, rejoined: { 2: 1, 3: 1 } }] });
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('a snapshot named while primaries still hold data', () => {
  test('refused: a survivor keeps more than a snapshot', () => {
    const s: Survey = { cluster: 'd', rows: [row(1, 'stopped', 9), lost(2), lost(3)] };
    expect(refusal(() => decide(s, { namedSnapshot: true }))).toBe(
      'refusing to restore d from --snapshot: d-primary-1 still holds data, which restoring a snapshot would throw away; run recover without --snapshot to recover from the survivor',
    );
    expect(decide({ cluster: 'd', rows: [lost(1), lost(2), lost(3)] }, { namedSnapshot: true, snapshot: true })).toEqual({ kind: 'snapshot' });
  });
});

describe('Ctrl-C while a recovery runs', () => {
  test('the steps in flight finish, then the last words, then the exit as interrupted; a second one exits at once', async () => {
    const listening = process.listenerCount('SIGINT');
    const events: string[] = [];
    let exited!: (code: number) => void;
    const exit = new Promise<number>((r) => (exited = r));
    const untrap = trapInterrupts({ say: (l) => events.push(`say ${l}`), last: () => events.push('last'), exit: (code) => exited(code) });
    try {
      let finish!: () => void;
      const off = onInterrupt(() => new Promise<void>((r) => (finish = r)).then(() => events.push('one-off stopped')));
      onInterrupt(async () => events.push('other step'))();
      expect(interrupted()).toBe(false);
      process.emit('SIGINT');
      expect(interrupted()).toBe(true);
      expect(events).toEqual(['say interrupted (SIGINT): finishing 1 step in flight first (again to end at once)']);
      await new Promise((r) => setImmediate(r));
      expect(events).not.toContain('last');
      finish();
      expect(await exit).toBe(130);
      expect(events.slice(1)).toEqual(['one-off stopped', 'last']);
      off();
    } finally {
      untrap();
    }
    expect(interrupted()).toBe(false);
    expect(process.listenerCount('SIGINT')).toBe(listening);

    const codes: number[] = [];
    const again = trapInterrupts({ say: () => undefined, last: () => undefined, exit: (code) => codes.push(code) });
    try {
      const off = onInterrupt(() => new Promise(() => undefined));
      process.emit('SIGTERM');
      process.emit('SIGTERM');
      expect(codes).toEqual([143]);
      off();
    } finally {
      again();
    }
  });
});
