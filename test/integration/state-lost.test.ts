/**
 * README, "The state file lost or moved", the lost case as a user meets it: a 1+1 cluster deployed and then
 * scaled to 1+2, its state file deleted. The next deploy is refused by the cluster's state guard before it
 * creates, adopts or changes anything: the refusal names what runs and `etcd-cluster import`; the containers,
 * the data volume and the network are the very same objects, and the state that deploy wrote holds none of
 * them (no volume adopted: a destroy from it deletes nothing of the cluster). The refusal says that
 * `terraform.tfstate.backup` still knows the cluster and to copy it now; a second try refuses again (and has
 * replaced the .backup). The .backup, copied aside at the first refusal, holds the state before the last
 * apply that changed something: copied back, it is one change behind (the plan creates the third secondary again; removing that secondary's
 * container and deploying converges, as the README says). A copy of the state itself, copied back, plans
 * nothing.
 */
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyFailure } from '../harness/cli';
import { finishAfter, Writer } from '../harness/writer';
import { describeEngine } from '../harness/describe-engine';
import { TestCluster } from '../harness/test-cluster';
import { scratchDir } from '../helpers/synth';

jest.setTimeout(300_000);

/** The addresses a state file records. */
const addresses = (file: string) =>
  ((JSON.parse(readFileSync(file, 'utf8')) as { resources?: { type: string; name: string }[] }).resources ?? []).map((r) => `${r.type}.${r.name}`);

describeEngine('the state file lost', () => {
  let cluster: TestCluster;
  let writer: Writer | undefined;
  afterAll(async () => {
    await writer?.stop();
    await cluster?.teardown();
  });

  test('the next deploy is refused by the guard and changes nothing, a writer losing nothing; the backup is one change behind; the state copied back plans nothing', async () => {
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

    const volume = await cluster.docker.inspect('volumes', cluster.topology.primaries[0].volume);
    const network = (await cluster.docker.inspect('networks', cluster.topology.network.name)).Id;

    const backupCopy = join(scratchDir('state-backup'), 'terraform.tfstate.backup');
    // A writer through the refused deploys: the cluster serves on, and loses nothing.
    const writerClient = cluster.client();
    writer = new Writer(writerClient, '/it/stlost/').start();
    rmSync(state);
    for (const attempt of [1, 2]) {
      const output = (await applyFailure(cluster.apply(), `deploy ${attempt} without the state`)).output;
      expect(output).toContain(`refusing to deploy ${cluster.name}: it runs already, and this Terraform state knows nothing of it`);
      for (const n of [...cluster.topology.primaries, ...cluster.topology.secondaries]) expect(output).toContain(n.name);
      expect(output).toContain(cluster.topology.primaries[0].volume);
      // The first refusal points at the .backup, which still knows the cluster; the retry replaced it.
      if (attempt === 1) {
        expect(output).toContain(`${state}.backup knows it: copy it over ${state} now (the next deploy replaces the .backup) and deploy`);
        copyFileSync(join(dir, 'terraform.tfstate.backup'), backupCopy);
      } else expect(output).toContain('copy back the state that deployed it, then deploy');
      expect(output).not.toContain('Conflict. The container name');
      // Nothing changed: the same containers, volume, network and member.
      expect(await containers()).toEqual(before);
      expect(await cluster.docker.inspect('volumes', cluster.topology.primaries[0].volume)).toEqual(volume);
      expect((await cluster.docker.inspect('networks', cluster.topology.network.name)).Id).toBe(network);
      expect((await cluster.member(cluster.topology.primaries[0].name))?.ID).toBe(member);
      // And nothing adopted: the state that deploy wrote knows no container, volume or network of the cluster.
      expect(addresses(state).filter((a) => /^docker_(volume|container)\./.test(a))).toEqual([]);
    }
    const w = await finishAfter(writer, writerClient, Date.now(), (l) => cluster.say(l));
    writerClient.close();
    expect(w.acknowledged).toBeGreaterThan(10);
    expect(w.lost).toEqual([]);
    expect(w.lastAckAt).toBeGreaterThan(w.ended);

    // A copy of the state itself: nothing to change.
    copyFileSync(copy, state);
    expect((await cluster.deployment.plan()).code).toBe(0);

    // The backup instead (as copied aside when the guard said so): the state before the last apply that
    // changed something (1+1), one change behind.
    copyFileSync(backupCopy, state);
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
