/**
 * Issue 13: what only the real kreuzwerker/docker provider can answer. Terraform stops containers with
 * SIGTERM and waits (destroy_grace_seconds), so etcd exits cleanly on replace and destroy; a replaced
 * network replaces the containers on it instead of failing with active endpoints; a healthcheck change
 * reaches the container.
 */
import { addressesOf } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { TestCluster } from '../harness/test-cluster';
import { testSubnet } from '../harness/env';

jest.setTimeout(300_000);

const now = () => Math.floor(Date.now() / 1000);

describeEngine('the real provider on a 3+1 cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('provider', { primaries: 3, secondaries: 1, network: { subnet: testSubnet(0) } });
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('changing the subnet replaces the network and every container on it; members keep their IDs and data', async () => {
    const c = cluster.client();
    const ids: Record<string, string | undefined> = {};
    try {
      await c.put('/it/provider/before').value('kept');
      for (const p of cluster.topology.primaries) ids[p.name] = (await cluster.member(p.name))?.ID;
    } finally {
      c.close();
    }
    const networkBefore = (await cluster.docker.inspect('networks', cluster.topology.network.name)).Id;
    const actions = await cluster.apply({ network: { subnet: testSubnet(1) } });
    expect(addressesOf(actions, 'replace')).toEqual([
      'docker_container.cluster_primary-1_container',
      'docker_container.cluster_primary-2_container',
      'docker_container.cluster_primary-3_container',
      'docker_container.cluster_secondary-1_container',
      // The network's step (constructs/network.ts): it removes the old network once the containers are gone and makes the new one.
      'terraform_data.cluster_network_step',
      'terraform_data.cluster_verify_hook',
    ]);
    // Every member restarted at once; the hook ran again and waited for the cluster to be whole.
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(addressesOf(actions, 'destroy')).toEqual([]);
    const network = await cluster.docker.inspect('networks', cluster.topology.network.name);
    expect(network.Id).not.toBe(networkBefore);
    expect(network.IPAM.Config[0].Subnet).toBe(testSubnet(1));
    expect(cluster.deployment.lastOutput).toMatch(/Apply complete!/);
    for (const p of cluster.topology.primaries) expect((await cluster.member(p.name))?.ID).toBe(ids[p.name]);
    const after = cluster.client();
    try {
      expect(await after.get('/it/provider/before').string()).toBe('kept');
    } finally {
      after.close();
    }
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test("a changed secondary healthcheck replaces the secondary, and the new check is the container's", async () => {
    const s = cluster.topology.secondaries[0];
    const test = ['CMD', '/usr/local/bin/etcdctl', `--endpoints=http://127.0.0.1:2379`, 'endpoint', 'health'];
    const actions = await cluster.apply({ secondary: { healthcheck: test } });
    expect(addressesOf(actions, 'replace')).toEqual(['docker_container.cluster_secondary-1_container', 'terraform_data.cluster_verify_hook']);
    expect((await cluster.docker.inspect('containers', s.name)).Config.Healthcheck.Test).toEqual(test);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('destroy stops every member with SIGTERM and lets it exit cleanly', async () => {
    const names = [...cluster.topology.primaries, ...cluster.topology.secondaries].map((n) => n.name);
    // The containers that stand now, by ID: the events' window starts up to 2 s back (Docker counts in whole
    // seconds), and the test before replaced secondary-1, whose old container of the same name died then.
    const ids = new Set(await Promise.all(names.map(async (n) => (await cluster.docker.inspect('containers', n)).Id as string)));
    const since = now() - 1;
    await cluster.deployment.destroy();
    const deaths = (await cluster.docker.events(since, now() + 1, ['die', 'kill'])).filter((e) => ids.has(e.Actor.ID));
    for (const name of names) {
      const mine = deaths.filter((e) => e.Actor.Attributes.name === name);
      // SIGTERM and then the exit, with no SIGKILL: the process ended by itself within the grace period.
      // (Docker may repeat the SIGTERM, as the provider's stop and its removal each send one; never a 9.)
      const signals = mine.filter((e) => e.Action === 'kill').map((e) => e.Actor.Attributes.signal);
      expect([name, signals.length > 0, signals.filter((x) => x !== '15')]).toEqual([name, true, []]);
      expect([name, mine.filter((e) => e.Action === 'die').length]).toEqual([name, 1]);
    }
    // A primary shuts etcd down cleanly (exit code 0; a killed one would show 137).
    for (const p of cluster.topology.primaries) {
      expect([p.name, deaths.filter((e) => e.Actor.Attributes.name === p.name && e.Action === 'die').map((e) => e.Actor.Attributes.exitCode)]).toEqual([
        p.name,
        ['0'],
      ]);
    }
  });
});
