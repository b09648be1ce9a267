/**
 * Issue 3: etcd's own static clustering on the real engine. Stop the leader: the majority elects another
 * and accepts writes; start it again: it rejoins as the same member. Stop everything and start it again:
 * every key is still there.
 */
import { describeEngine } from '../harness/describe-engine';
import { eventually, TestCluster } from '../harness/test-cluster';

jest.setTimeout(300_000);

describeEngine('failover and restart of a 3+1 cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('failover', { primaries: 3, secondaries: 1 });
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  async function statusOf(endpoint: string) {
    const c = cluster.client(endpoint);
    try {
      const s = await c.maintenance.status();
      return { leader: s.leader, memberId: s.header.member_id };
    } finally {
      c.close();
    }
  }

  test('stopping the leader: a new leader is elected and writes go on; the old one rejoins as the same member', async () => {
    const t = cluster.topology;
    const before = await Promise.all(t.primaries.map((p) => statusOf(p.hostClientUrl)));
    const leaderIndex = before.findIndex((s) => s.memberId === s.leader);
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    const oldLeader = t.primaries[leaderIndex];
    cluster.say(`stopping leader ${oldLeader.name}`);
    await cluster.docker.stop(oldLeader.name, 5);

    const others = t.primaries.filter((p) => p !== oldLeader);
    const newLeader = await eventually(async () => {
      const s = await statusOf(others[0].hostClientUrl);
      if (s.leader === '0' || s.leader === before[leaderIndex].memberId) throw new Error('no new leader yet');
      return s.leader;
    });
    cluster.say(`new leader ${BigInt(newLeader).toString(16)}`);
    const c = cluster.client(others.map((p) => p.hostClientUrl));
    try {
      await c.put('/it/after-failover').value('yes');
      expect(await c.get('/it/after-failover').string()).toBe('yes');
    } finally {
      c.close();
    }

    await cluster.docker.start(oldLeader.name);
    const rejoined = await eventually(async () => {
      const s = await statusOf(oldLeader.hostClientUrl);
      if (s.leader === '0') throw new Error('not caught up');
      return s;
    });
    expect(rejoined.memberId).toBe(before[leaderIndex].memberId);
    const direct = cluster.client(oldLeader.hostClientUrl);
    try {
      expect(await eventually(() => direct.get('/it/after-failover').string())).toBe('yes');
    } finally {
      direct.close();
    }
  });

  test('stopping and starting every container keeps every key', async () => {
    const t = cluster.topology;
    const c = cluster.client();
    const keys = Array.from({ length: 50 }, (_, i) => `/it/persist/${i}`);
    try {
      for (const k of keys) await c.put(k).value(k);
    } finally {
      c.close();
    }
    const all = [...t.primaries, ...t.secondaries].map((n) => n.name);
    await Promise.all(all.map((n) => cluster.docker.stop(n, 5)));
    cluster.say('every container stopped');
    for (const n of all) expect((await cluster.docker.inspect('containers', n)).State.Running).toBe(false);
    await Promise.all(all.map((n) => cluster.docker.start(n)));
    cluster.say('every container started again');

    const after = cluster.client();
    try {
      const found = await eventually(async () => (await after.getAll().prefix('/it/persist/').keys()).map(String).sort(), 60_000);
      expect(found).toEqual([...keys].sort());
      expect(await eventually(() => after.get('/it/after-failover').string())).toBe('yes');
    } finally {
      after.close();
    }
    // And the verifier agrees the cluster is whole again.
    const { verifyCluster } = await import('../../lib/runtime/verify');
    const report = await verifyCluster(cluster.expectation, { timeoutMs: 60_000 });
    expect(report.problems).toEqual([]);
  });
});
