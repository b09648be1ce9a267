/**
 * Issue 7: changing the primaries of a live cluster. 3 -> 5 -> 3 with a writer running throughout: members
 * join one at a time as learners and are promoted, leave through `member remove` before their container
 * goes, founders keep their containers, and no acknowledged write is lost. Growing while a voter is down
 * is refused before anything changes.
 */
import { applyFailure } from '../harness/cli';
import { addressesOf, type ApplyFailed } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { memberNames } from '../harness/members';
import { TestCluster } from '../harness/test-cluster';
import { finishAfter, Writer } from '../harness/writer';
import { verifyCluster } from '../../lib/runtime/verify';

jest.setTimeout(600_000);

const strip = addressesOf;

/** What growing 3 -> 5 creates, and shrinking 5 -> 3 destroys. */
const JOINERS = [
  'docker_container.cluster_primary-4_container',
  'docker_container.cluster_primary-5_container',
  'docker_volume.cluster_primary-4_data',
  'docker_volume.cluster_primary-5_data',
  'terraform_data.cluster_primary-4_join',
  'terraform_data.cluster_primary-4_member',
  'terraform_data.cluster_primary-5_join',
  'terraform_data.cluster_primary-5_member',
];

describeEngine('growing and shrinking the primaries of a live cluster', () => {
  let cluster: TestCluster;
  let writer: Writer;
  let writerClient: ReturnType<TestCluster['client']>;
  let founderIds: (string | undefined)[];
  const founders = () => cluster.topology.primaries.slice(0, 3).map((p) => cluster.deployment.containerId(p.name));

  const members = () => memberNames(cluster);

  beforeAll(async () => {
    cluster = await TestCluster.create('reconf', { primaries: 3, initialPrimaries: 3, secondaries: 1 });
    await cluster.apply();
    founderIds = founders();
    // The writer talks to the founders, which stay through the whole sequence.
    writerClient = cluster.client(cluster.topology.primaries.map((p) => p.hostClientUrl));
    writer = new Writer(writerClient, '/it/reconf/').start();
  });
  afterAll(async () => {
    await writer?.stop();
    writerClient?.close();
    await cluster?.teardown();
  });

  test('3 -> 5: each new member joins as a learner, is promoted, and the hook verifies five voters', async () => {
    const actions = await cluster.apply({ primaries: 5 });
    expect(strip(actions, 'create')).toEqual(JOINERS);
    // Nothing of the founders is replaced: their bootstrap flags are byte-identical. The stateless proxy
    // is, because its --endpoints now lists the new members too.
    expect(strip(actions, 'replace')).toEqual(['docker_container.cluster_secondary-1_container', 'terraform_data.cluster_verify_hook']);
    expect(founders()).toEqual(founderIds);
    const log = cluster.deployment.outputs.join('\n');
    expect(log).toContain('added ' + cluster.topology.primaries[3].name + ' as a learner');
    expect(log).toContain('promoted ' + cluster.topology.primaries[3].name + ' to a voting member');
    expect(log.indexOf(`promoted ${cluster.topology.primaries[3].name}`)).toBeLessThan(log.indexOf(`added ${cluster.topology.primaries[4].name}`));
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(await members()).toEqual(cluster.topology.primaries.map((p) => p.name).sort());
  });

  test('5 -> 3: the highest members are removed from etcd before their containers go', async () => {
    const before = cluster.deployment.outputs.length;
    const actions = await cluster.apply({ primaries: 3 });
    expect(strip(actions, 'destroy')).toEqual(JOINERS);
    const log = cluster.deployment.outputs.slice(before).join('\n');
    expect(log).toContain(`removed ${cluster.name}-primary-5`);
    expect(log).toContain(`removed ${cluster.name}-primary-4`);
    expect(log.indexOf(`removed ${cluster.name}-primary-5`)).toBeLessThan(log.indexOf(`removed ${cluster.name}-primary-4`));
    expect(founders()).toEqual(founderIds);
    expect(await members()).toEqual(cluster.topology.primaries.map((p) => p.name).sort());
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
  });

  test('growing while a voter does not answer is refused and leaves the cluster as it was', async () => {
    // Paused, not stopped: Terraform starts a stopped container again in the same deploy (must_run), so
    // the voter that stays silent through a deploy is a hung one.
    const down = cluster.topology.primaries[1];
    await cluster.docker.pause(down.name);
    let failure: ApplyFailed;
    try {
      failure = await applyFailure(cluster.apply({ primaries: 5, verify: { timeoutSeconds: 20 } }));
    } finally {
      await cluster.docker.unpause(down.name);
    }
    expect(failure.output).toContain(`refusing to change membership of ${cluster.name}: voter ${down.name} does not answer; start it first`);
    expect(await cluster.docker.inspect('containers', `${cluster.name}-primary-4`)).toBeUndefined();
    expect(await members()).toEqual(
      cluster.topology.primaries
        .slice(0, 3)
        .map((p) => p.name)
        .sort(),
    );
    const report = await verifyCluster(
      { ...cluster.expectation, target: { ...cluster.expectation.target, primaries: cluster.expectation.target.primaries.slice(0, 3) } },
      { timeoutMs: 60_000 },
    );
    expect(report.problems).toEqual([]);
  });

  test('a data volume left from a removed member is refused, and kept', async () => {
    const leftover = `${cluster.name}-primary-4-data`;
    await cluster.docker.call('POST', '/volumes/create', { Name: leftover, Labels: { 'cdktf-etcd-cluster.cluster': cluster.name } });
    const failure = await applyFailure(cluster.apply({ primaries: 5, verify: { timeoutSeconds: 20 } }));
    expect(failure.output).toContain(`refusing to add ${cluster.name}-primary-4: data volume ${leftover} already exists`);
    expect(await cluster.docker.inspect('volumes', leftover)).toBeDefined();
    expect(await cluster.docker.inspect('containers', `${cluster.name}-primary-4`)).toBeUndefined();
    expect(await members()).toEqual(
      cluster.topology.primaries
        .slice(0, 3)
        .map((p) => p.name)
        .sort(),
    );
    // What the message tells the user to do, once they have kept what they need.
    await cluster.docker.removeVolume(leftover);
  });

  test('replacing a failed founder: its old member is removed, and it joins on a fresh volume with a new member ID', async () => {
    const victim = cluster.topology.primaries[1];
    const c = cluster.client(cluster.topology.primaries[0].hostClientUrl);
    try {
      const before = await cluster.member(victim.name);
      await c.put('/it/reconf/before-replace').value('kept');
      // The member fails: its container stops for good.
      await cluster.docker.stop(victim.name, 5);
      const oldVolume = await cluster.docker.inspect('volumes', victim.volume);
      expect(oldVolume).toBeDefined();

      const actions = await cluster.apply({ primaries: 3, replace: { '2': 1 }, verify: { timeoutSeconds: 60 } });
      // Only the primaries' actions: the refused growth before this left the proxy with five endpoints and
      // the verify hook out, so this deploy also restores those.
      const notHook = (a: string) => /primary-/.test(a);
      expect(strip(actions, 'create').filter(notHook)).toEqual(['terraform_data.cluster_primary-2_join']);
      expect(strip(actions, 'replace').filter(notHook)).toEqual([
        'docker_container.cluster_primary-2_container',
        'docker_volume.cluster_primary-2_data',
        'terraform_data.cluster_primary-2_member',
      ]);
      const replaced = cluster.topology.primaries[1];
      expect(replaced.volume).toBe(`${victim.name}-data-r1`);
      expect(await cluster.docker.inspect('volumes', victim.volume)).toBeUndefined();
      const fresh = await cluster.docker.inspect('volumes', replaced.volume);
      expect(new Date(fresh.CreatedAt).getTime()).toBeGreaterThan(new Date(oldVolume.CreatedAt).getTime());
      const after = await cluster.member(victim.name);
      expect(after?.isLearner).toBe(false);
      expect(after?.ID).not.toEqual(before?.ID);
      const log = cluster.deployment.outputs.join('\n');
      expect(log).toContain(`removed the replaced member ${victim.name} (ID ${before?.ID})`);
      expect(log).toContain(`promoted ${victim.name} to a voting member`);
      expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
      // The new member holds the data written before it was replaced: it caught up from the others.
      const own = cluster.client(replaced.hostClientUrl);
      try {
        expect(await own.get('/it/reconf/before-replace').serializable(true).string()).toBe('kept');
      } finally {
        own.close();
      }
      // Another deploy with the same spec changes nothing: Terraform's plan says so by its exit code.
      const again = await cluster.deployment.plan();
      expect([again.code, again.actions.filter((a) => a.kind !== 'keep')]).toEqual([0, []]);
    } finally {
      c.close();
    }
  });

  test('growing after a replacement restarts the replaced member once, keeping its ID, and adds the new ones', async () => {
    const replaced = cluster.topology.primaries[1];
    const before = (await cluster.member(replaced.name))?.ID;
    const actions = await cluster.apply({ primaries: 5 });
    // Its --initial-cluster lists every primary, so its container is replaced; its volume is not.
    expect(strip(actions, 'replace').filter((a) => /primary-2_/.test(a))).toEqual(['docker_container.cluster_primary-2_container']);
    expect(strip(actions, 'create').filter((a) => /primary-[45]_container/.test(a))).toHaveLength(2);
    expect((await cluster.member(replaced.name))?.ID).toEqual(before);
    expect(await members()).toEqual(cluster.topology.primaries.map((p) => p.name).sort());
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    // Nothing left for the next deploy: no generation, join or member record still pending.
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('no acknowledged write was lost through 3 -> 5 -> 3, a replacement and a growth, and writes went on after the last', async () => {
    // Every change above has ended: the writer must still be acknowledging writes, or "nothing lost" would
    // cover only the changes it lived through.
    const ended = Date.now();
    const w = await finishAfter(writer, writerClient, ended, (l) => cluster.say(l));
    expect(w.acknowledged).toBeGreaterThan(50);
    expect(w.lost).toEqual([]);
    expect(w.lastAckAt).toBeGreaterThan(ended);
  });
});

describeEngine('a forgotten initialPrimaries', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.create('forgot', { primaries: 1 });
    await cluster.apply();
  });
  afterAll(async () => cluster?.teardown());

  test('changing primaries without it fails the plan before anything is touched; with it, the cluster grows', async () => {
    const founder = cluster.topology.primaries[0].name;
    const id = cluster.deployment.containerId(founder);
    const failure = await applyFailure(cluster.apply({ primaries: 3 }));
    expect(failure.message).toContain('terraform plan failed');
    expect(failure.output.replace(/\s+/g, ' ')).toContain(
      `initialPrimaries: cluster ${cluster.name} was bootstrapped with --initial-cluster=${founder}=http://${founder}:2380`,
    );
    expect(cluster.deployment.containerId(founder)).toBe(id);
    expect((await cluster.docker.inspect('containers', founder))?.Id).toBe(id);
    expect(await cluster.docker.inspect('containers', `${cluster.name}-primary-2`)).toBeUndefined();

    const actions = await cluster.apply({ primaries: 3, initialPrimaries: 1 });
    expect(strip(actions, 'replace').filter((a) => /primary-1_/.test(a))).toEqual([]);
    expect(cluster.deployment.containerId(founder)).toBe(id);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});
