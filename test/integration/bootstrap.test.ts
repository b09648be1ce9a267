/**
 * Issue 3: synthesized clusters come up on the real engine and form exactly the declared cluster.
 * The post-apply hook runs under real Terraform as part of every apply.
 */
import { describeEngine } from '../harness/describe-engine';
import { containersOfRole } from '../harness/members';
import { TestCluster } from '../harness/test-cluster';

jest.setTimeout(240_000);

describeEngine.each([
  [1, 0],
  [1, 2],
  [3, 0],
  [3, 2],
  [5, 0],
  [5, 2],
])('a cluster of %i primaries and %i secondaries', (primaries, secondaries) => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create(`boot${primaries}${secondaries}`, { primaries, secondaries });
    const actions = await cluster.apply();
    expect(actions.filter((a) => a.kind === 'create')).toHaveLength(actions.length);
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('the hook verified it under real Terraform', () => {
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(cluster.deployment.lastOutput).toMatch(/Apply complete!/);
  });

  test('the founders started one after another, each once the one before it ran', async () => {
    // Started together, founders wait out etcd's boot check on one another (~1 s per peer); the volume
    // step of founder i waits until founder i-1 runs (PrimaryNode.startsAfter).
    const names = cluster.topology.primaries.map((p) => p.name);
    const out = cluster.deployment.lastOutput;
    for (let i = 1; i < names.length; i++) {
      expect(out).toContain(`${names[i]}: starts after ${names[i - 1]}, which runs`);
    }
    // Exactly one wait per founder after the first, none for the first, and none given up: with one primary,
    // no wait at all.
    expect(out.match(/: starts after \S+, which runs/g) ?? []).toHaveLength(names.length - 1);
    expect(out).not.toContain(`${names[0]}: starts after`);
    expect(out).not.toContain('starts without waiting');
    const states = await Promise.all(names.map(async (n) => (await cluster.docker.inspect('containers', n)).State));
    expect(states.map((s) => s.Running)).toEqual(names.map(() => true));
    const started = states.map((s) => Date.parse(s.StartedAt));
    expect(started.every((t) => Number.isFinite(t) && t > 0)).toBe(true);
    expect(started).toEqual([...started].sort((a, b) => a - b));
    expect(new Set(started).size).toBe(started.length);
  });

  test('a second plan right after the deploy has nothing to do', async () => {
    // Everything the provider reads back (ports, healthcheck, image, network) matches the configuration.
    const plan = await cluster.deployment.plan();
    expect(plan.actions.filter((a) => a.kind !== 'keep')).toEqual([]);
    expect(plan.code).toBe(0);
  });

  test('every primary lists exactly the declared members, with one leader and one cluster ID', async () => {
    const t = cluster.topology;
    const seen = await Promise.all(
      t.primaries.map(async (p) => {
        const c = cluster.client(p.hostClientUrl);
        try {
          const [list, status] = await Promise.all([c.cluster.memberList({ linearizable: false }), c.maintenance.status()]);
          return {
            members: list.members.map((m) => `${m.name} ${m.peerURLs.join(',')} ${m.clientURLs.join(',')} ${m.isLearner}`).sort(),
            clusterId: status.header.cluster_id,
            leader: status.leader,
          };
        } finally {
          c.close();
        }
      }),
    );
    const declared = t.primaries.map((p) => `${p.name} ${p.peerUrl} ${p.clientUrl} false`).sort();
    for (const s of seen) expect(s.members).toEqual(declared);
    expect(new Set(seen.map((s) => s.clusterId)).size).toBe(1);
    expect(new Set(seen.map((s) => s.leader)).size).toBe(1);
    expect(seen[0].leader).not.toBe('0');
  });

  test('a write through each secondary reads back from each primary', async () => {
    const t = cluster.topology;
    for (const s of t.secondaries) {
      const through = cluster.client(s.hostClientUrl);
      const key = `/it/${s.name}`;
      try {
        await through.put(key).value(`via ${s.name}`);
      } finally {
        through.close();
      }
      for (const p of t.primaries) {
        const direct = cluster.client(p.hostClientUrl);
        try {
          expect(await direct.get(key).string()).toBe(`via ${s.name}`);
        } finally {
          direct.close();
        }
      }
    }
    expect(t.secondaries).toHaveLength(secondaries);
  });

  test('exactly the declared secondaries run, and exactly they are registered (none of either with 0)', async () => {
    expect(await containersOfRole(cluster, 'secondary')).toEqual(cluster.topology.secondaries.map((s) => s.name).sort());
    const c = cluster.client();
    try {
      const registered = (await c.getAll().prefix(`${cluster.topology.registryPrefix}/`).keys()).sort();
      const declared = cluster.expectation.secondaries.flatMap((s) => (s.registrationKey ? [s.registrationKey] : [])).sort();
      expect(registered).toEqual(declared);
      expect(declared).toHaveLength(secondaries);
    } finally {
      c.close();
    }
  });
});

describeEngine('an application secondary: the etcd gateway as a custom command', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('appsec', {
      primaries: 3,
      secondaries: 2,
      secondary: { command: ['/usr/local/bin/etcd', 'gateway', 'start', '--endpoints={{addresses}}', '--listen-addr=0.0.0.0:2379'] },
    });
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('the hook verified that each serves reads, without expecting a registration', () => {
    expect(cluster.expectation.secondaries.map((s) => s.registrationKey)).toEqual([null, null]);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
  });

  test('it received the primaries and ETCDCTL_ENDPOINTS', async () => {
    const s = cluster.topology.secondaries[0];
    const info = await cluster.docker.inspect('containers', s.name);
    expect(info.Config.Cmd).toContain(`--endpoints=${cluster.topology.primaries.map((p) => `${p.name}:2379`).join(',')}`);
    expect(info.Config.Env).toContain(`ETCDCTL_ENDPOINTS=${cluster.topology.primaries.map((p) => p.clientUrl).join(',')}`);
    const c = cluster.client(s.hostClientUrl);
    try {
      await c.put('/it/through-gateway').value('ok');
      expect(await c.get('/it/through-gateway').string()).toBe('ok');
    } finally {
      c.close();
    }
  });
});
