/**
 * Issue 23: upgrading the library under a deployed cluster. The hooks' input changed (contract version 2,
 * one target), so a cluster deployed by release 0.2.0 sees its hooks updated once by the next plan, and
 * nothing else: no container, volume, network or image (the network resource is forgotten and the same
 * network adopted by the network step of issue 27, which the plan creates). What 0.2.0 synthesized comes from a committed
 * fixture (test/helpers/fixture-stack.ts says why and how it was made), deployed as users have it; the hooks
 * of that deploy already run this release's CLI on version-1 input, as after an `npm update` without synth.
 *
 * And a `removed` block's destroy-time provisioner runs with the input Terraform recorded in the state, so
 * shrinking a cluster that 0.2.0 deployed runs `member remove` on version-1 input: it must still work, and
 * an application writing through the member that stays loses nothing.
 */
import { addressesOf, type Action } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { TEST_IMAGE } from '../harness/env';
import { TestCluster } from '../harness/test-cluster';
import { finishAfter, Writer } from '../harness/writer';
import { v020Stack } from '../helpers/fixture-stack';
import { REPO_ROOT, run } from '../helpers/synth';
import { join } from 'node:path';
import { verifyCluster } from '../../lib/runtime/verify';
import { etcdVersionOfImage } from '../../lib/model/expectation';

jest.setTimeout(900_000);

/** A 3+2 cluster deployed from what 0.2.0 synthesized for it. */
async function deployedBy020(suffix: string): Promise<TestCluster> {
  const cluster = await TestCluster.create(suffix, { primaries: 3, secondaries: 2, image: TEST_IMAGE });
  const { ports } = cluster.spec;
  await cluster.deployment.apply(v020Stack({ name: cluster.name, image: TEST_IMAGE, primaryBase: ports!.primaryBase!, secondaryBase: ports!.secondaryBase! }));
  return cluster;
}

const changes = (actions: Action[]) => actions.filter((a) => a.kind !== 'keep');

/** Docker's IDs of the cluster's containers, volumes and network, to show they are the same objects after. */
async function dockerObjects(cluster: TestCluster): Promise<string[]> {
  const d = cluster.docker;
  const mine = (labels: Record<string, string> | null | undefined) => labels?.['cdktf-etcd-cluster.cluster'] === cluster.name;
  const containers = (await d.listByLabel('containers', 'cdktf-etcd-cluster.cluster')).filter((c) => mine(c.Labels)).map((c) => `container ${c.Id}`);
  const volumes = (await d.listByLabel('volumes', 'cdktf-etcd-cluster.cluster')).filter((v) => mine(v.Labels)).map((v) => `volume ${v.Name}`);
  const networks = (await d.listByLabel('networks', 'cdktf-etcd-cluster.cluster')).filter((n) => mine(n.Labels)).map((n) => `network ${n.Id}`);
  return [...containers, ...volumes, ...networks].sort();
}

describeEngine('a cluster deployed by 0.2.0, planned with this release', () => {
  let cluster: TestCluster;
  afterAll(async () => {
    await cluster?.teardown();
  });

  test('the next plan updates the hooks only; after the apply it verifies and nothing is left to plan', async () => {
    cluster = await deployedBy020('upg');
    const before = await dockerObjects(cluster);
    expect(before).toHaveLength(3 + 2 + 3 + 1);

    const planned = await cluster.deployment.plan(cluster.synth());
    cluster.say(
      `plan: ${changes(planned.actions)
        .map((a) => `${a.kind} ${a.address}`)
        .join(', ')}`,
    );
    // Every change is a hook (terraform_data); none touches a docker_* resource.
    expect(changes(planned.actions).filter((a) => !a.address.startsWith('terraform_data.'))).toEqual([]);
    // The containers, volumes and image are kept; the docker_network resource of 0.2.0 is forgotten (a
    // `removed` block, destroy = false) and the same Docker network is adopted by the network step (issue 27):
    // the Docker objects are the same after the apply (below).
    expect(planned.actions.filter((a) => a.address.startsWith('docker_') && a.kind === 'keep').length).toBeGreaterThanOrEqual(3 + 2 + 3 + 1);
    expect(planned.actions.filter((a) => a.address.startsWith('docker_network.'))).toEqual([]);
    // And the state guard, new in this release: it runs once, and passes (the state knows the cluster).
    expect(addressesOf(planned.actions, 'create')).toEqual([
      'terraform_data.cluster_guard',
      'terraform_data.cluster_network_id',
      'terraform_data.cluster_network_step',
    ]);
    // The hooks' input changed: the three member records and the verify hook are updated in place.
    expect(addressesOf(planned.actions, 'update')).toEqual([
      'terraform_data.cluster_primary-1_member',
      'terraform_data.cluster_primary-2_member',
      'terraform_data.cluster_primary-3_member',
      'terraform_data.cluster_verify_hook',
    ]);
    expect(addressesOf(planned.actions, 'replace')).toEqual([]);

    await cluster.apply();
    expect(await dockerObjects(cluster)).toEqual(before);
    expect((await verifyCluster(cluster.expectation, { timeoutMs: 60_000 })).problems).toEqual([]);
    // The CLI reads the stack this release synthesized, and the new `status` sees one leader of three.
    const cli = (args: string[]) => run(process.execPath, [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), ...args, '--stack', cluster.deployment.dir]);
    const verify = await cli(['verify', '--timeout', '30']);
    expect(verify.code).toBe(0);
    const status = await cli(['status', '--json']);
    expect(status.code).toBe(0);
    const views = JSON.parse(status.stdout) as { name: string; status: { isLeader: boolean; raftTerm: string; version: string } }[];
    expect(views.map((v) => v.name)).toEqual(cluster.topology.primaries.map((p) => p.name));
    expect(views.filter((v) => v.status.isLeader)).toHaveLength(1);
    expect(new Set(views.map((v) => v.status.raftTerm)).size).toBe(1);
    const version = etcdVersionOfImage(TEST_IMAGE);
    expect(views.map((v) => v.status.version)).toEqual([version, version, version]);

    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});

describeEngine('shrinking a cluster deployed by 0.2.0 with this release', () => {
  let cluster: TestCluster;
  afterAll(async () => {
    await cluster?.teardown();
  });

  test('the removed blocks run member remove on the version-1 input 0.2.0 recorded in the state', async () => {
    cluster = await deployedBy020('upgshr');
    // An application writing through the member that stays, while the two others leave.
    const writerClient = cluster.client(cluster.topology.primaries[0].hostClientUrl);
    const writer = new Writer(writerClient, '/it/upgshr/').start();
    let actions: Action[];
    try {
      actions = await cluster.apply({ primaries: 1, initialPrimaries: 3 });
      // The shrink has ended: the writer must still be acknowledging writes, so that it ran through all of it.
      const ended = Date.now();
      const w = await finishAfter(writer, writerClient, ended, (l) => cluster.say(l));
      expect(w.acknowledged).toBeGreaterThan(50);
      expect(w.lost).toEqual([]);
      expect(w.lastAckAt).toBeGreaterThan(ended);
    } finally {
      await writer.stop();
      writerClient.close();
    }
    expect(addressesOf(actions, 'destroy')).toEqual(
      expect.arrayContaining(['terraform_data.cluster_primary-2_member', 'terraform_data.cluster_primary-3_member']),
    );
    for (const line of cluster.deployment.lastOutput.split('\n').filter((l) => /primary-[23]_member: Destruction complete/.test(l))) cluster.say(line.trim());
    // The destroy-time provisioners said what they did.
    expect(cluster.deployment.lastOutput).toMatch(new RegExp(`${cluster.name}: removed ${cluster.name}-primary-3 \\(http://${cluster.name}-primary-3:2380\\)`));
    expect(cluster.deployment.lastOutput).toMatch(new RegExp(`${cluster.name}: removed ${cluster.name}-primary-2 \\(http://${cluster.name}-primary-2:2380\\)`));
    expect((await cluster.member(`${cluster.name}-primary-3`)) ?? null).toBeNull();
    expect((await verifyCluster(cluster.expectation, { timeoutMs: 60_000 })).problems).toEqual([]);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});
