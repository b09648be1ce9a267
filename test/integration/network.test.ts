/**
 * Issue 27: the cluster's network is made by the cluster's own step and read through the provider's data
 * source (constructs/network.ts), not by the provider's `docker_network` resource, which waits 2 s on every
 * read. Two paths that only real Terraform and the real provider can show:
 *
 * - A cluster deployed with the configuration of version 0.2.0 (commit dd6a122, as main landed: the
 *   `docker_network` resource) upgrades in one apply: Terraform forgets the resource (a `removed` block,
 *   destroy = false), the step adopts the network, no container is replaced or touched, the cluster
 *   verifies, and the next plan is empty. test/fixtures/stack-0.2.0-dd6a122.json is that version's own
 *   synthesized stack for a 3+1 spec with a subnet (made by running its synth at that commit:
 *   `git archive dd6a122 | tar -x -C old && cd old && ln -s <checkout>/node_modules . && npx ts-node gen.ts`
 *   with synthStack({ name: 'upgradefix', primaries: 3, secondaries: 1, image: 'fixture/etcd:1', network:
 *   { subnet: '10.99.77.0/24' }, ports: { primaryBase: 41001, secondaryBase: 42001 } })); the test puts this
 *   run's name, image, ports and subnet into it.
 * - The network deleted out of band (containers stopped, `docker network rm`): the next plan fails and names
 *   the network; `etcd-cluster network create --stack` makes it again, and the next deploy replaces every
 *   container onto it, the members keeping their data and IDs.
 * - With `hosts`, one network per host, made and removed by the step on each host, one of them reached over
 *   ssh (simulated hosts, scripts/sim-hosts.sh), nothing left behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressesOf, ApplyFailed } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { etcdCluster } from '../harness/cli';
import { TEST_IMAGE, testSubnet } from '../harness/env';
import { containerIds } from '../harness/members';
import { SimHosts } from '../harness/sim-hosts';
import { TestCluster } from '../harness/test-cluster';
import { finishAfter, Writer } from '../harness/writer';
import { REPO_ROOT, type TfJson } from '../helpers/synth';
import { verifyCluster } from '../../lib/runtime/verify';

jest.setTimeout(300_000);

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'stack-0.2.0-dd6a122.json');

/** Version 0.2.0's stack for this cluster: the fixture with this run's name, image, ports and subnet. */
function oldStack(cluster: TestCluster, subnet: string): TfJson {
  const { primaryBase, secondaryBase } = cluster.spec.ports as { primaryBase: number; secondaryBase: number };
  const text = readFileSync(FIXTURE, 'utf8')
    .replaceAll('upgradefix', cluster.name)
    .replaceAll('fixture/etcd:1', TEST_IMAGE)
    .replaceAll('10.99.77.', subnet.replace(/0\/24$/, ''))
    .replace(/\b4100(\d)\b/g, (_, d: string) => String(primaryBase + Number(d) - 1))
    .replace(/\b4200(\d)\b/g, (_, d: string) => String(secondaryBase + Number(d) - 1));
  return JSON.parse(text) as TfJson;
}

describeEngine('a cluster deployed with the docker_network resource (0.2.0) upgrades to the network step', () => {
  let cluster: TestCluster;
  const subnet = testSubnet(2);

  beforeAll(async () => {
    cluster = await TestCluster.create('netup', { primaries: 3, secondaries: 1, network: { subnet } });
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('0.2.0 deploys it with the provider resource', async () => {
    const old = oldStack(cluster, subnet);
    expect(Object.keys(old.resource.docker_network)).toEqual(['cluster_network_D70B2823']);
    await cluster.deployment.apply(old);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
  });

  test('one apply: the resource is forgotten, the network adopted, no container replaced; it verifies; the next plan is empty', async () => {
    const before = await containerIds(cluster);
    const network = await cluster.docker.inspect('networks', cluster.topology.network.name);
    const plan = await cluster.deployment.plan(cluster.synth());
    // And the state guard, new in this release: it runs once, and passes (the state knows the cluster).
    expect(addressesOf(plan.actions, 'create')).toEqual([
      'terraform_data.cluster_guard',
      'terraform_data.cluster_network_id',
      'terraform_data.cluster_network_step',
    ]);
    // Besides the network: the hooks' input is this release's contract (version 2), so the member records
    // and the verify hook are updated in place (test/integration/upgrade.test.ts); nothing else changes.
    const hooks = [
      'terraform_data.cluster_primary-1_member',
      'terraform_data.cluster_primary-2_member',
      'terraform_data.cluster_primary-3_member',
      'terraform_data.cluster_verify_hook',
    ];
    expect(addressesOf(plan.actions, 'update')).toEqual(hooks);
    expect(plan.actions.filter((a) => !['keep', 'create', 'update'].includes(a.kind))).toEqual([]);
    // Terraform says it forgets the resource and does not destroy it.
    expect(plan.output).toMatch(/docker_network\.cluster_network_D70B2823 will no longer be managed by Terraform, but will not be destroyed/);

    const actions = await cluster.apply();
    expect(actions.filter((a) => !['keep', 'create', 'update'].includes(a.kind))).toEqual([]);
    expect(cluster.deployment.lastOutput).toMatch(/network create/);
    expect(cluster.deployment.lastOutput).toMatch(new RegExp(`${cluster.topology.network.name}: exists on `));
    // The same network (adopted, not made again), the same containers, still running.
    const after = await cluster.docker.inspect('networks', cluster.topology.network.name);
    expect(after.Id).toBe(network.Id);
    expect(after.IPAM.Config[0]).toEqual({ Subnet: subnet, Gateway: subnet.replace(/0\/24$/, '1') });
    expect(await containerIds(cluster)).toEqual(before);
    for (const name of Object.keys(before)) expect([name, (await cluster.docker.inspect('containers', name)).State.Running]).toEqual([name, true]);
    const state = await cluster.deployment.terraform(['state', 'list']);
    expect(state.stdout).not.toMatch(/^docker_network\./m);
    expect(state.stdout).toMatch(/^data\.docker_network\.cluster_network_lookup_/m);

    const report = await verifyCluster(cluster.expectation, { timeoutMs: 60_000 });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const again = await cluster.deployment.plan();
    expect(again.actions.filter((a) => a.kind !== 'keep')).toEqual([]);
    expect(again.code).toBe(0);
  });

  test('destroy removes the adopted network with everything else', async () => {
    await cluster.deployment.destroy();
    expect(cluster.deployment.lastOutput).toMatch(new RegExp(`${cluster.topology.network.name}: removed on `));
    expect(await cluster.docker.inspect('networks', cluster.topology.network.name)).toBeUndefined();
    for (const name of Object.keys(await containerIds(cluster))) expect(await cluster.docker.inspect('containers', name)).toBeUndefined();
  });
});

describeEngine('the network deleted out of band', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('netgone', { primaries: 3, secondaries: 1 });
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('the next plan fails naming it; network create makes it again; the deploy replaces every container onto it', async () => {
    const t = cluster.topology;
    const c = cluster.client();
    const ids: Record<string, string | undefined> = {};
    try {
      await c.put('/it/network/before').value('kept');
      for (const p of t.primaries) ids[p.name] = (await cluster.member(p.name))?.ID;
    } finally {
      c.close();
    }
    const old = (await cluster.docker.inspect('networks', t.network.name)).Id as string;
    // Docker refuses to remove a network with running containers on it: someone stopped them first.
    for (const n of [...t.primaries, ...t.secondaries]) await cluster.docker.stop(n.name);
    await cluster.docker.removeNetwork(t.network.name);

    const failed = await cluster.deployment.plan().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(ApplyFailed);
    expect((failed as ApplyFailed).output).toMatch(new RegExp(`Could not find docker network.*${t.network.name}`));

    const made = await etcdCluster(['network', 'create', '--stack', cluster.deployment.dir], { env: cluster.deployment.env });
    expect([made.code, made.stderr]).toEqual([0, '']);
    expect(made.stdout).toMatch(new RegExp(`^${t.network.name}: created on `));
    const again = await etcdCluster(['network', 'create', '--stack', cluster.deployment.dir], { env: cluster.deployment.env });
    expect(again.stdout).toMatch(new RegExp(`^${t.network.name}: exists on `));
    const fresh = (await cluster.docker.inspect('networks', t.network.name)).Id as string;
    expect(fresh).not.toBe(old);

    const actions = await cluster.apply();
    expect(addressesOf(actions, 'replace')).toEqual([
      'docker_container.cluster_primary-1_container',
      'docker_container.cluster_primary-2_container',
      'docker_container.cluster_primary-3_container',
      'docker_container.cluster_secondary-1_container',
      'terraform_data.cluster_verify_hook',
    ]);
    expect(addressesOf(actions, 'update')).toEqual(['terraform_data.cluster_network_id']);
    expect(addressesOf(actions, 'destroy')).toEqual([]);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    for (const n of [...t.primaries, ...t.secondaries]) {
      expect([
        n.name,
        Object.values((await cluster.docker.inspect('containers', n.name)).NetworkSettings.Networks).map((x) => (x as { NetworkID: string }).NetworkID),
      ]).toEqual([n.name, [fresh]]);
    }
    for (const p of t.primaries) expect((await cluster.member(p.name))?.ID).toBe(ids[p.name]);
    const after = cluster.client();
    try {
      expect(await after.get('/it/network/before').string()).toBe('kept');
    } finally {
      after.close();
    }
    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});

describeEngine('one network per Docker host, one of them reached over ssh', () => {
  let sim: SimHosts;
  let cluster: TestCluster;

  beforeAll(async () => {
    sim = await SimHosts.up(2, 'nw', { ssh: [2] });
    // The primary on the socket host, the secondary on the ssh host.
    cluster = await TestCluster.create('nethosts', { primaries: 1, secondaries: 1, hosts: sim.specHosts(), placement: { secondaries: [sim.hosts[1].name] } });
  });
  afterAll(async () => sim?.teardown(cluster));

  test('the step makes each host its network (over ssh on the second), the hook verifies, the next plan is empty', async () => {
    await cluster.apply();
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    const name = cluster.topology.network.name;
    expect(cluster.deployment.lastOutput).toMatch(new RegExp(`${name}: created on ${sim.hosts[1].docker.replace(/\./g, '\\.')}`));
    for (const i of [0, 1]) {
      const n = await sim.engine(i).inspect('networks', name);
      expect([i, n?.Labels]).toEqual([i, { 'cdktf-etcd-cluster.cluster': cluster.name }]);
    }
    // The secondary on the ssh host is on that host's network.
    const s = await sim.engine(1).inspect('containers', cluster.topology.secondaries[0].name);
    expect(Object.keys(s.NetworkSettings.Networks)).toEqual([name]);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test("destroy removes each host's network, over ssh too; nothing is left on either host", async () => {
    await cluster.deployment.destroy();
    const name = cluster.topology.network.name;
    expect(cluster.deployment.lastOutput).toMatch(new RegExp(`${name}: removed on ${sim.hosts[1].docker.replace(/\./g, '\\.')}`));
    for (const i of [0, 1]) {
      expect([i, await sim.engine(i).inspect('networks', name)]).toEqual([i, undefined]);
      expect([i, await sim.engine(i).listByLabel('containers', `cdktf-etcd-cluster.cluster=${cluster.name}`)]).toEqual([i, []]);
    }
  });
});

describeEngine('founders on a socket host and an ssh host start one after another', () => {
  let sim: SimHosts;
  let cluster: TestCluster;

  beforeAll(async () => {
    sim = await SimHosts.up(3, 'fs', { ssh: [2] });
    // Founder 2 on the ssh host: founder 3's wait looks at it over ssh, founder 2's at the socket host.
    cluster = await TestCluster.create('founders', { primaries: 3, secondaries: 0, hosts: sim.specHosts() });
  });
  afterAll(async () => sim?.teardown(cluster));

  test("each founder's volume step saw the founder before it run, on that founder's host; the next plan is empty", async () => {
    await cluster.apply();
    const out = cluster.deployment.lastOutput;
    expect(out).toMatch(/matches the spec/);
    const [p1, p2, p3] = cluster.topology.primaries;
    expect(p2.host).toBe(sim.hosts[1].name);
    expect(out).toContain(`${p2.name}: starts after ${p1.name}, which runs`);
    expect(out).toContain(`${p3.name}: starts after ${p2.name}, which runs`);
    expect(out).not.toContain('starts without waiting');
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('a rollout stops founder 2 through ssh like the others, under a writer that loses nothing; the next plan is empty', async () => {
    const client = cluster.client();
    const writer = new Writer(client, '/it/founders/').start();
    try {
      const r = await cluster.rollout({ etcd: { extraFlags: ['--snapshot-count=5000'] } });
      expect(r.code).toBe(0);
      const ended = Date.now();
      for (const p of cluster.topology.primaries) expect(r.stderr).toContain(`stopping ${p.name} `);
      const w = await finishAfter(writer, client, ended, (l) => cluster.say(l));
      expect(w.acknowledged).toBeGreaterThan(20);
      expect(w.lost).toEqual([]);
      expect(w.lastAckAt).toBeGreaterThan(ended);
      expect((await cluster.deployment.plan()).code).toBe(0);
    } finally {
      await writer.stop();
      client.close();
    }
  });
});
