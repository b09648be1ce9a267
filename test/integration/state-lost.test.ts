/**
 * README, "The state file lost or moved", the lost case as a user meets it: a 1+1 cluster deployed and then
 * scaled to 1+2, its state file deleted. The next deploy fails on Docker's name conflict and leaves the
 * running cluster as it was, but the state it wrote records the data volume (the reason the README says
 * not to destroy from such a state). `terraform.tfstate.backup` still holds the state before the last apply
 * that changed something: copied back, it is one change behind (the plan creates the third secondary again;
 * removing that secondary's container and deploying converges, as the README says). A copy of the state
 * itself, copied back, plans nothing.
 */
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApplyFailed } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { TestCluster } from '../harness/test-cluster';
import { scratchDir } from '../helpers/synth';

jest.setTimeout(300_000);

/** The addresses a state file records. */
const addresses = (file: string) =>
  ((JSON.parse(readFileSync(file, 'utf8')) as { resources?: { type: string; name: string }[] }).resources ?? []).map((r) => `${r.type}.${r.name}`);

describeEngine('the state file lost', () => {
  let cluster: TestCluster;
  afterAll(async () => cluster?.teardown());

  test('the next deploy fails on the names and changes no container; the backup is one change behind; the state copied back plans nothing', async () => {
    cluster = await TestCluster.create('stlost', { primaries: 1, secondaries: 1 });
    await cluster.apply();
    await cluster.apply({ secondaries: 2 });
    const dir = cluster.deployment.dir;
    const state = join(dir, 'terraform.tfstate');
    const copy = join(scratchDir('state-copy'), 'terraform.tfstate');
    copyFileSync(state, copy);
    const containers = async () =>
      Promise.all([...cluster.topology.primaries, ...cluster.topology.secondaries].map(async (n) => (await cluster.docker.inspect('containers', n.name)).Id));
    const before = await containers();
    const member = (await cluster.member(cluster.topology.primaries[0].name))?.ID;

    rmSync(state);
    let failure: unknown;
    try {
      await cluster.apply();
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(ApplyFailed);
    const output = (failure as ApplyFailed).output;
    for (const n of [...cluster.topology.primaries, ...cluster.topology.secondaries])
      expect(output).toContain(`Conflict. The container name "/${n.name}" is already in use`);
    // The cluster runs on, untouched.
    expect(await containers()).toEqual(before);
    expect((await cluster.member(cluster.topology.primaries[0].name))?.ID).toBe(member);
    // The state that deploy wrote holds the data volume, adopted: a destroy from it would delete the data.
    expect(addresses(state).filter((a) => a.startsWith('docker_volume.'))).toEqual([expect.stringMatching(/^docker_volume\.cluster_primary-1_data/)]);
    expect(addresses(state).filter((a) => a.startsWith('docker_container.'))).toEqual([]);

    // A copy of the state itself: nothing to change.
    copyFileSync(copy, state);
    expect((await cluster.deployment.plan()).code).toBe(0);

    // The backup instead: the state before the last apply that changed something (1+1), one change behind.
    copyFileSync(join(dir, 'terraform.tfstate.backup'), state);
    const behind = await cluster.deployment.plan();
    expect(behind.actions.filter((a) => a.kind !== 'keep').map((a) => `${a.kind} ${a.address}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^create docker_container\.cluster_secondary-2_container/)]),
    );
    // The README's way on from there: the secondary it does not know holds no data; remove it and deploy.
    await cluster.docker.removeContainer(cluster.topology.secondaries[1].name);
    await cluster.apply();
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect((await containers()).slice(0, 2)).toEqual(before.slice(0, 2));
    expect((await cluster.member(cluster.topology.primaries[0].name))?.ID).toBe(member);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});
