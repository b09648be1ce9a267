/**
 * Issue 25: etcd upgraded along its documented path, 3.4.23 -> 3.5.35 (the newest 3.5 patch built here,
 * above the 3.5.26 that 3.6 needs) -> 3.6.16, each hop by `etcd-cluster rollout` on a 3+1 cluster under a
 * writer: no acknowledged write lost, every key written before kept, member IDs kept, followers first and the
 * leader last with a quorum running throughout, nothing left to plan after each hop. The writer's longest
 * pause of each hop is on record (`npm run bench` measures the same walk: bench/upgrade.ts). Before the
 * walk, the jump 3.4 -> 3.6 is refused; at 3.5.35, taking 3.6 in one plain apply is refused by the upgrade
 * check (the verify hook's, before Terraform replaces any primary) and nothing changes.
 */
import { applyFailure } from '../harness/cli';
import { describeEngine } from '../harness/describe-engine';
import { ETCD_34_IMAGE, ETCD_35_IMAGE, ETCD_36_IMAGE } from '../harness/env';
import { memberIds, primaryContainerIds, rollHop, versions, type Hop } from '../harness/rollout';
import { TestCluster } from '../harness/test-cluster';
import { finishAfter, Writer } from '../harness/writer';
import { verifyCluster } from '../../lib/runtime/verify';

jest.setTimeout(1_800_000);

const SEEDED = 200;

describeEngine('etcd 3.4.23 -> 3.5.35 -> 3.6.16, one rollout per hop, under a writer', () => {
  let cluster: TestCluster;
  let writer: Writer;
  let writerClient: ReturnType<TestCluster['client']>;
  let ids: Record<string, string>;
  const hops: Hop[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.create('walk', { primaries: 3, secondaries: 1, image: ETCD_34_IMAGE });
    await cluster.apply();
    const c = cluster.client();
    try {
      for (let i = 0; i < SEEDED; i++) await c.put(`/it/walk/seed/${String(i).padStart(3, '0')}`).value(`v${i}`);
    } finally {
      c.close();
    }
    ids = await memberIds(cluster);
  });
  afterAll(async () => {
    await writer?.stop();
    writerClient?.close();
    await cluster?.teardown();
  });

  test('3.4 -> 3.6 at once is refused before anything changes, naming the hop to make first', async () => {
    const before = await primaryContainerIds(cluster);
    const r = await cluster.rollout({ image: ETCD_36_IMAGE });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `etcd-cluster: refusing to upgrade ${cluster.name} from etcd 3.4.23 to 3.6.16: etcd upgrades one minor release at a time; first 3.4 -> 3.5 (the newest 3.5 patch: 3.6 needs 3.5.26 or later)\n`,
    );
    expect(await primaryContainerIds(cluster)).toEqual(before);
    // Back to what runs: the refused spec is not kept for the next hop.
    await cluster.apply({ image: ETCD_34_IMAGE });
    writerClient = cluster.client();
    writer = new Writer(writerClient, '/it/walk/w/').start();
  });

  const hop = (image: string, from: string, to: string) => async () => {
    const h = await rollHop(cluster, writer, image);
    hops.push(h);
    expect(h.result.code).toBe(0);
    expect([h.rolled!.from, h.rolled!.to]).toEqual([from, to]);
    expect(h.rolled!.steps.map((s) => s.role)).toEqual(['follower', 'follower', 'leader']);
    expect(h.rolled!.steps.every((s) => s.action === 'replace')).toBe(true);
    // Sampled every 200 ms through a rollout of three members: a sampler that never sampled reports Infinity.
    expect(h.samples).toBeGreaterThanOrEqual(5);
    expect(h.lowestRunning).toBeGreaterThanOrEqual(2);
    // rollHop waited for a write acknowledged after the rollout ended.
    expect(writer.lastAckAt).toBeGreaterThan(h.endedAt);
    expect(h.acknowledged).toBeGreaterThan(10);
    expect(await versions(cluster)).toEqual([to, to, to]);
    expect(await memberIds(cluster)).toEqual(ids);
    expect((await cluster.deployment.plan()).code).toBe(0);
    expect((await verifyCluster(cluster.expectation, { timeoutMs: 60_000 })).problems).toEqual([]);
    cluster.say(
      `hop ${from} -> ${to}: rollout ${(h.wallMs / 1000).toFixed(1)} s, writer's longest pause ${h.longestPauseMs} ms, lowest running ${h.lowestRunning} of 3 over ${h.samples} samples`,
    );
    return h;
  };

  test('hop 1: 3.4.23 -> 3.5.35', hop(ETCD_35_IMAGE, '3.4.23', '3.5.35'));

  test('at 3.5.35, 3.6 in one plain apply is refused by the upgrade check before any container changes', async () => {
    const before = await primaryContainerIds(cluster);
    const image = (await cluster.docker.inspect('images', ETCD_35_IMAGE)).Id;
    const failed = await applyFailure(cluster.apply({ image: ETCD_36_IMAGE }));
    expect(failed.output).toContain(
      `refusing to upgrade ${cluster.name} from etcd 3.5.35 to 3.6.16 in one apply, which would restart every primary at once: run etcd-cluster rollout (one member at a time, as etcd's upgrade guide asks)`,
    );
    expect(await primaryContainerIds(cluster)).toEqual(before);
    for (const p of cluster.topology.primaries) expect((await cluster.docker.inspect('containers', p.name)).Image).toBe(image);
  });

  test("hop 2: 3.5.35 -> 3.6.16, after etcdutl check v2store found every primary's data clean", async () => {
    const h = await hop(ETCD_36_IMAGE, '3.5.35', '3.6.16')();
    for (const p of cluster.topology.primaries) expect(h.result.stderr).toContain(`${p.name}: No custom content found in both v2store and WAL records.`);
  });

  test('no acknowledged write was lost, writes went on after the last hop, and every key written before the walk is there; the pauses are on record', async () => {
    const ended = Date.now();
    const w = await finishAfter(writer, writerClient, ended, (l) => cluster.say(l));
    expect(w.lastAckAt).toBeGreaterThan(ended);
    for (const h of hops) cluster.say(`${h.rolled?.from} -> ${h.rolled?.to}: longest pause ${h.longestPauseMs} ms over ${(h.wallMs / 1000).toFixed(1)} s`);
    expect(w.acknowledged).toBeGreaterThan(50);
    expect(w.lost).toEqual([]);
    const c = cluster.client();
    try {
      expect(await c.getAll().prefix('/it/walk/seed/').keys()).toHaveLength(SEEDED);
    } finally {
      c.close();
    }
    expect(hops).toHaveLength(2);
  });
});
