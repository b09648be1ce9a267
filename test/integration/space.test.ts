/**
 * Issue 25, item 2 with the real provider: space that stays free. A 3-primary cluster with a 16 MiB quota
 * and a backup container is filled until etcd raises NOSPACE and refuses writes; then:
 * - `etcd-cluster reclaim` compacts, defragments every member (followers first, the leader last) and
 *   disarms: writes are accepted again and no key written before the alarm is lost; when the data itself
 *   fills the quota it does not disarm and says what to do, and after deletes it does; with a member down
 *   it refuses before touching anything;
 * - with `defrag` on (a 2 s schedule in the test), the backup container defragments by etcd's rule on its
 *   own, followers first and the leader last, under a writer that loses nothing; and takes NOSPACE's way
 *   out by itself: writes accepted again, nothing lost; `maintenance log` and the container's log show
 *   each run.
 * And with mutual TLS (certificates from `etcd-cluster pki`): the backup container takes its snapshots and
 * defragments every member over TLS.
 */
import type { Etcd3 } from 'etcd3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressesOf } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { etcdCluster } from '../harness/cli';
import { eventually, TestCluster } from '../harness/test-cluster';
import { Writer } from '../harness/writer';
import { run, scratchDir } from '../helpers/synth';

jest.setTimeout(300_000);
const MiB = 1024 ** 2;
const QUOTA = 16 * MiB;
const CHUNK = 'x'.repeat(256 * 1024);
const KEEP = 40;
const HOT = 6;

interface Step {
  member: string;
  role: string;
  reason: string;
  beforeBytes: number;
  afterBytes: number;
}
interface Run {
  time: string;
  run: string;
  result: string;
  message?: string;
  disarmed?: string[];
  steps: Step[];
}

/**
 * The backup container's finished defragmentation runs, once together they cover three primaries. Each look
 * picks the members the rule picks at that moment (a follower may apply a compaction a moment after the
 * leader), so one run may hold fewer than three.
 */
async function defragRunsCoveringThree(json: <T>(args: string[]) => Promise<T>): Promise<Run[]> {
  return eventually(
    async () => {
      const found = (await json<Run[]>(['maintenance', 'log'])).filter((x) => x.run === 'defrag' && x.result === 'done');
      const members = new Set(found.flatMap((x) => x.steps.map((s) => s.member)));
      if (members.size < 3) throw new Error(`defragmented so far: ${[...members].join(', ') || 'none'}`);
      return found;
    },
    90_000,
    1000,
  );
}

describeEngine('space that stays free: NOSPACE reclaimed by the command and by the backup container on its own', () => {
  let cluster: TestCluster;
  let c: Etcd3;
  /** The value each key written before an alarm holds: what must still be there after it. */
  const written = new Map<string, string>();
  /**
   * The value of a put etcd refused with NOSPACE, by key: the put that crosses the quota is applied and then
   * answered "database space exceeded" (etcd's quota applier), so the key may hold it instead of the last
   * acknowledged value. Not acknowledged, so not a write the test holds etcd to either way.
   */
  const refusedValue = new Map<string, string>();
  const cli = (args: string[], timeoutMs = 120_000) => etcdCluster([...args, '--stack', cluster.stackDir()], { timeoutMs });
  const json = async <T>(args: string[]) => {
    const r = await cli([...args, '--json']);
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  const put = async (key: string, value: string): Promise<string> => {
    try {
      await c.put(key).value(value);
      written.set(key, value);
      refusedValue.delete(key);
      return 'accepted';
    } catch (e) {
      refusedValue.set(key, value);
      return `refused: ${(e as Error).message}`;
    }
  };
  /** Writes until etcd refuses: overwrites of a few hot keys (history compaction frees) or new keys (it does not). */
  const fillUntilRefused = async (kind: 'history' | 'data', tag: string): Promise<{ refused: string; puts: number }> => {
    for (let i = 0; i < 400; i++) {
      const key = kind === 'history' ? `/it/space/hot/${i % HOT}` : `/it/space/full/${tag}/${String(i).padStart(4, '0')}`;
      const outcome = await put(key, `${tag}-${i}-${CHUNK}`);
      if (outcome !== 'accepted') return { refused: outcome, puts: i };
    }
    throw new Error('400 writes of 256 KiB and no NOSPACE');
  };
  const alarmList = async () => (await json<{ member: string; alarm: string }[]>(['alarm', 'list'])).map((a) => a.alarm);
  /** Every key written before, with the value it was last acknowledged with (or a refused put's, see refusedValue). */
  const lostKeys = async () => {
    const lost: string[] = [];
    for (const [key, value] of written) {
      const now = await c.get(key).string();
      if (now !== value && now !== refusedValue.get(key)) lost.push(key);
    }
    return lost;
  };

  beforeAll(async () => {
    cluster = await TestCluster.create('space', {
      primaries: 3,
      secondaries: 0,
      etcd: { quotaBackendBytes: QUOTA },
      backup: { every: '1h', keep: 1 },
      // The command first, with the scheduled defragmenter off; it is turned on further down.
      defrag: { enabled: false },
    });
    await cluster.apply();
    c = cluster.client();
    for (let i = 0; i < KEEP; i++) expect(await put(`/it/space/keep/${String(i).padStart(3, '0')}`, `v${i}`)).toBe('accepted');
  });
  afterAll(async () => {
    c?.close();
    await cluster?.teardown();
  });

  test('filled by history to NOSPACE: writes refused; reclaim compacts, defragments followers first and the leader last, disarms; nothing lost', async () => {
    const { refused, puts } = await fillUntilRefused('history', 'a');
    cluster.say(`NOSPACE after ${puts} writes of 256 KiB`);
    expect(refused).toMatch(/database space exceeded/);
    expect(await alarmList()).toContain('NOSPACE');

    const r = await cli(['reclaim', '--json']);
    expect([r.code, r.stderr]).toEqual([0, expect.stringContaining('compacting up to revision')]);
    const out = JSON.parse(r.stdout) as { result: string; message: string; steps: Step[]; disarmed: { alarm: string }[]; compactedTo: string };
    expect(out.result).toBe('done');
    expect(out.message).toMatch(/^NOSPACE alarm on it[^;]+; compacted up to revision \d+, defragmented every member, disarmed$/);
    expect(out.steps.map((s) => s.role)).toEqual(['follower', 'follower', 'leader']);
    expect(new Set(out.steps.map((s) => s.member)).size).toBe(3);
    for (const s of out.steps) expect(s.afterBytes).toBeLessThan(0.8 * QUOTA);
    expect(out.disarmed.map((a) => a.alarm)).toContain('NOSPACE');

    expect(await alarmList()).toEqual([]);
    expect(await put('/it/space/after-reclaim', 'ok')).toBe('accepted');
    expect(await lostKeys()).toEqual([]);
    // reclaim changed nothing Terraform manages: the next plan is empty.
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('when the data itself fills the quota, reclaim does not disarm and says what to do; after deletes it does', async () => {
    // etcd raises NOSPACE by the file's size, which outgrows the data (pages freed while read), so one fill
    // can end with the data under 80 % (reclaim then disarms, rightly): fill with new keys and reclaim again
    // until the data itself is over it.
    let full: Awaited<ReturnType<typeof cli>> | undefined;
    for (let round = 0; round < 8 && !full; round++) {
      const { refused } = await fillUntilRefused('data', `b${round}`);
      expect(refused).toMatch(/database space exceeded/);
      const r = await cli(['reclaim']);
      if (r.code === 0) expect(r.stdout.split('\n')[0]).toMatch(/defragmented every member, disarmed$/);
      else full = r;
    }
    expect(full?.code).toBe(1);
    expect(full!.stdout.split('\n')[0]).toMatch(
      /^it\S+: NOSPACE alarm on .*; compacted and defragmented, but the data itself is over 80% of the quota 16\.0 MiB: .*; delete keys \(deletes are allowed under NOSPACE\) or raise etcd\.quotaBackendBytes, then run reclaim again$/,
    );
    expect(full!.stdout).toMatch(/^MEMBER\s+ROLE\s+BEFORE\s+AFTER\s+SECONDS\s+REASON$/m);
    expect(await alarmList()).toContain('NOSPACE');
    expect(await put('/it/space/still-full', 'no')).toMatch(/database space exceeded/);

    await c.delete().prefix('/it/space/full/');
    for (const key of [...written.keys()].filter((k) => k.startsWith('/it/space/full/'))) written.delete(key);
    const again = await cli(['reclaim']);
    cluster.say(`etcd-cluster reclaim:\n${again.stdout}`);
    expect([again.code, again.stdout.split('\n')[0]]).toEqual([0, expect.stringMatching(/defragmented every member, disarmed$/)]);
    expect(await put('/it/space/after-deletes', 'ok')).toBe('accepted');
    expect(await lostKeys()).toEqual([]);
  });

  test('with a voter down, reclaim and defrag refuse before touching anything', async () => {
    const down = cluster.topology.primaries[2].name;
    await run('docker', ['stop', '-t', '2', down]);
    try {
      for (const cmd of [['reclaim'], ['defrag', '--if-needed']]) {
        const r = await cli(cmd);
        expect([cmd[0], r.code, r.stderr]).toEqual([cmd[0], 1, expect.stringContaining(`primary ${down} does not answer`)]);
      }
    } finally {
      await run('docker', ['start', down]);
    }
    expect((await cli(['verify', '--timeout', '60'])).code).toBe(0);
  });

  test('defrag on: the backup container defragments by the rule on its own, followers first and the leader last, under a writer that loses nothing', async () => {
    const actions = await cluster.apply({ defrag: { every: '2s', reclaimableMiB: 1 } });
    expect(addressesOf(actions, 'replace').filter((a) => a.startsWith('docker_container'))).toEqual(['docker_container.cluster_backup_container']);
    const writer = new Writer(cluster.client(), '/it/space/writer/').start();
    try {
      // Free pages on every member: history written, then compacted (as auto-compaction would).
      for (let i = 0; i < 16; i++) expect(await put(`/it/space/hot/${i % HOT}`, `c-${i}-${CHUNK}`)).toBe('accepted');
      expect((await cli(['compact'])).code).toBe(0);
      // Each look picks the members the rule picks at that moment (a follower may apply the compaction a
      // moment after the leader), so one run may hold fewer than three: wait until every primary was
      // defragmented, and check the order within each run.
      const runs = await defragRunsCoveringThree(json);
      for (const r of runs) {
        // Followers first, the leader last (when it is in the run at all).
        expect(r.steps.map((s) => s.role).join(' ')).toMatch(/^(follower ?)*(leader)?$/);
        for (const s of r.steps) {
          expect(s.reason).toMatch(/MiB reclaimable \(at least 1\.0 MiB\)/);
          expect(s.afterBytes).toBeLessThan(s.beforeBytes);
        }
      }
      expect(new Set(runs.flatMap((r) => r.steps.map((s) => s.member))).size).toBe(3);
      // Every primary was defragmented: the writer must still be acknowledging writes after that.
      const ended = Date.now();
      await writer.continuedAfter(ended);
      expect(writer.lastAckAt).toBeGreaterThan(ended);
    } finally {
      const w = await writer.finish(c);
      cluster.say(w.summary);
      expect(w.acknowledged).toBeGreaterThan(0);
      expect(w.lost).toEqual([]);
    }
    const logs = await run('docker', ['logs', `${cluster.name}-backup`]);
    expect(logs.stdout).toMatch(/"msg":"defrag run"/);
    const table = await cli(['maintenance', 'log']);
    expect(table.stdout.split('\n')[0]).toMatch(/^TIME\s+RUN\s+RESULT\s+MEMBER\s+ROLE\s+BEFORE\s+AFTER\s+WHY$/);
  });

  test('NOSPACE reclaimed by the backup container on its own: writes refused, then accepted again; nothing written before the alarm lost', async () => {
    const { refused } = await fillUntilRefused('history', 'd');
    expect(refused).toMatch(/database space exceeded/);
    const refusedAt = Date.now();
    await eventually(
      async () => {
        const outcome = await put('/it/space/after-scheduled', 'ok');
        if (outcome !== 'accepted') throw new Error(outcome);
      },
      90_000,
      1000,
    );
    cluster.say(`writes accepted again ${((Date.now() - refusedAt) / 1000).toFixed(1)} s after NOSPACE, without a command`);
    expect(await alarmList()).toEqual([]);
    expect(await lostKeys()).toEqual([]);
    const reclaimed = (await json<Run[]>(['maintenance', 'log'])).filter((x) => x.run === 'reclaim');
    expect(reclaimed.at(-1)!.result).toBe('done');
    expect(reclaimed.at(-1)!.disarmed!.length).toBeGreaterThan(0);
    for (const d of reclaimed.at(-1)!.disarmed!) expect(d).toMatch(/^NOSPACE on it\S+-primary-\d$/);
    expect(reclaimed.at(-1)!.steps.map((s) => s.role)).toEqual(['follower', 'follower', 'leader']);
    expect(reclaimed.at(-1)!.message).toMatch(/^NOSPACE alarm on .*; compacted up to revision \d+, defragmented every member, disarmed$/);
    cluster.say(`etcd-cluster maintenance log:\n${(await cli(['maintenance', 'log'])).stdout}`);
    // What the defragmenter and the scheduled reclaim did is nothing Terraform sees: the next plan is empty.
    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});

describeEngine('the backup container over mutual TLS: scheduled snapshots, and the defragmenter reaching every member', () => {
  let cluster: TestCluster;
  let c: Etcd3;
  const cli = (args: string[]) => etcdCluster([...args, '--stack', cluster.stackDir()], { timeoutMs: 120_000 });
  const json = async <T>(args: string[]) => {
    const r = await cli([...args, '--json']);
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    const pki = join(scratchDir('space-tls'), 'pki');
    cluster = await TestCluster.create('spacetls', {
      primaries: 3,
      secondaries: 0,
      tls: { dir: pki },
      backup: { every: '2s', keep: 2 },
      defrag: { every: '2s', reclaimableMiB: 1 },
    });
    // Certificates as a user makes them, with the CLI from a spec file: the primaries' certificates then
    // name the primaries' shared name too, which is how the backup container reaches the cluster.
    const spec = join(pki, '..', 'cluster.json');
    writeFileSync(spec, JSON.stringify({ ...cluster.spec, tls: { dir: 'pki' } }));
    expect((await etcdCluster(['pki', '--spec', spec])).code).toBe(0);
    await cluster.apply();
    c = cluster.client();
  });
  afterAll(async () => {
    c?.close();
    await cluster?.teardown();
  });

  test('snapshots are taken over TLS on the schedule', async () => {
    const list = await eventually(
      async () => {
        const found = await json<{ file: string; bytes: number }[]>(['backups']);
        if (found.length < 1) throw new Error('no snapshot yet');
        return found;
      },
      60_000,
      500,
    );
    expect(list.every((b) => /^snapshot-\d{8}T\d{6}Z-rev\d+\.db$/.test(b.file) && b.bytes > 0)).toBe(true);
  });

  test('the defragmenter defragments every member over TLS by the rule, followers first and the leader last', async () => {
    for (let i = 0; i < 16; i++) await c.put(`/it/space-tls/hot/${i % HOT}`).value(`c-${i}-${CHUNK}`);
    expect((await cli(['compact'])).code).toBe(0);
    const runs = await defragRunsCoveringThree(json);
    for (const r of runs) {
      expect(r.steps.map((s) => s.role).join(' ')).toMatch(/^(follower ?)*(leader)?$/);
      for (const s of r.steps) expect(s.afterBytes).toBeLessThan(s.beforeBytes);
    }
    expect(new Set(runs.flatMap((r) => r.steps.map((s) => s.member)))).toEqual(new Set(cluster.topology.primaries.map((p) => p.name)));
    // Nothing the backup container did is anything Terraform sees.
    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});
