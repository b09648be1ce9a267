/**
 * Issue 26: the same stack under OpenTofu (scripts/opentofu.sh builds it), the way cdktf runs it with
 * TERRAFORM_BINARY_NAME=tofu, the provider resolved from registry.opentofu.org in the local mirror. One 3+2
 * cluster, under a writer, goes through what the Terraform suites show one by one: bring-up with an empty
 * second plan, secondaries 2 -> 4 -> 1 touching nothing else, a rollout of a flag change one member at a
 * time (`etcd-cluster rollout` runs tofu too), primaries 3 -> 5 -> 3 (joins as learners; leaving through
 * the provisioners of `removed` blocks, which OpenTofu runs from 1.10), and a failed founder replaced on a
 * fresh volume. No acknowledged write is lost, and nothing is left to plan at the end.
 */
import { OPENTOFU } from '../harness/use-opentofu';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressesOf, TERRAFORM } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { missingTerraform } from '../harness/terraform-check';
import { TestCluster } from '../harness/test-cluster';
import { finishAfter, Writer } from '../harness/writer';
import { run } from '../helpers/synth';

jest.setTimeout(900_000);

const strip = addressesOf;
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

describeEngine('a cluster deployed and changed by OpenTofu', () => {
  let cluster: TestCluster;
  let writer: Writer;
  let writerClient: ReturnType<TestCluster['client']>;
  let founderIds: (string | undefined)[];
  const founders = () => cluster.topology.primaries.slice(0, 3).map((p) => cluster.deployment.containerId(p.name));
  const nothingToPlan = async () => {
    const plan = await cluster.deployment.plan();
    expect(plan.actions.filter((a) => a.kind !== 'keep')).toEqual([]);
    expect(plan.code).toBe(0);
  };
  async function members(): Promise<Record<string, string>> {
    const c = cluster.client(cluster.topology.primaries[0].hostClientUrl);
    try {
      const { members } = await c.cluster.memberList({ linearizable: true });
      return Object.fromEntries(members.map((m) => [`${m.name}${m.isLearner ? ' (learner)' : ''}`, m.ID]));
    } finally {
      c.close();
    }
  }

  beforeAll(async () => {
    // OpenTofu itself and the provider under its registry's name; in CI a missing one fails here.
    const missing = await missingTerraform();
    if (missing) throw new Error(`${missing}: run scripts/opentofu.sh and scripts/provider-mirror.sh`);
    cluster = await TestCluster.create('tofu', { primaries: 3, initialPrimaries: 3, secondaries: 2, secondary: { registrationTtlSeconds: 3 } });
  });
  afterAll(async () => {
    await writer?.stop();
    writerClient?.close();
    await cluster?.teardown();
  });

  test('the harness and the hooks run OpenTofu', async () => {
    expect(TERRAFORM).toBe(OPENTOFU);
    expect(process.env.TERRAFORM_BINARY_NAME).toBe(OPENTOFU);
    const version = await run(OPENTOFU, ['version', '-json'], { env: { CHECKPOINT_DISABLE: '1' } });
    const v = JSON.parse(version.stdout) as { terraform_version: string };
    cluster.say(`OpenTofu ${v.terraform_version}`);
    expect(v.terraform_version).toMatch(/^1\.(1\d|[2-9]\d)\./);
  });

  test('bring-up: every resource created, the hook verified it, the provider came from registry.opentofu.org, and a second plan is empty', async () => {
    const actions = await cluster.apply();
    expect(actions.filter((a) => a.kind !== 'create')).toEqual([]);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(cluster.deployment.lastOutput).toMatch(/Apply complete!/);
    const lock = join(cluster.deployment.dir, '.terraform.lock.hcl');
    expect(existsSync(lock)).toBe(true);
    expect(readFileSync(lock, 'utf8')).toMatch(/provider "registry\.opentofu\.org\/kreuzwerker\/docker" \{\s*version\s*=\s*"4\.6\.0"/);
    await nothingToPlan();
    founderIds = founders();
    writerClient = cluster.client();
    writer = new Writer(writerClient, '/it/tofu/').start();
  });

  test('secondaries 2 -> 4 -> 1: only secondary containers and the hook change', async () => {
    const up = await cluster.apply({ secondaries: 4 });
    expect(strip(up, 'create')).toEqual(['docker_container.cluster_secondary-3_container', 'docker_container.cluster_secondary-4_container']);
    expect([...strip(up, 'replace'), ...strip(up, 'update'), ...strip(up, 'destroy')]).toEqual(['terraform_data.cluster_verify_hook']);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    const down = await cluster.apply({ secondaries: 1 });
    expect(strip(down, 'destroy')).toEqual([
      'docker_container.cluster_secondary-2_container',
      'docker_container.cluster_secondary-3_container',
      'docker_container.cluster_secondary-4_container',
    ]);
    expect([...strip(down, 'replace'), ...strip(down, 'update'), ...strip(down, 'create')]).toEqual(['terraform_data.cluster_verify_hook']);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(founders()).toEqual(founderIds);
    await nothingToPlan();
  });

  test('a rollout of a flag change: one member at a time, followers first, member IDs kept', async () => {
    const before = await members();
    const r = await cluster.rollout({ etcd: { extraFlags: ['--snapshot-count=5000'] } }, ['--json']);
    expect(r.code).toBe(0);
    const rolled = JSON.parse(r.stdout) as { steps: { member: string; role: string; action: string }[] };
    expect(rolled.steps.map((s) => `${s.role} ${s.action}`)).toEqual(['follower replace', 'follower replace', 'leader replace']);
    for (const p of cluster.topology.primaries) expect((await cluster.docker.inspect('containers', p.name)).Config.Cmd).toContain('--snapshot-count=5000');
    expect(await members()).toEqual(before);
    await nothingToPlan();
    founderIds = founders();
  });

  test('primaries 3 -> 5 -> 3: members join as learners and are promoted, then leave through the removed blocks', async () => {
    const grow = await cluster.apply({ primaries: 5 });
    expect(strip(grow, 'create')).toEqual(JOINERS);
    expect(founders()).toEqual(founderIds);
    const p = cluster.topology.primaries;
    const log = cluster.deployment.lastOutput;
    expect(log).toContain(`added ${p[3].name} as a learner`);
    expect(log).toContain(`promoted ${p[4].name} to a voting member`);
    expect(log).toMatch(/matches the spec/);
    expect(Object.keys(await members()).sort()).toEqual(p.map((m) => m.name).sort());

    const shrink = await cluster.apply({ primaries: 3 });
    expect(strip(shrink, 'destroy')).toEqual(JOINERS);
    const out = cluster.deployment.lastOutput;
    expect(out).toContain(`removed ${cluster.name}-primary-5`);
    expect(out).toContain(`removed ${cluster.name}-primary-4`);
    expect(out).toMatch(/matches the spec/);
    expect(founders()).toEqual(founderIds);
    expect(Object.keys(await members()).sort()).toEqual(cluster.topology.primaries.map((m) => m.name).sort());
    await nothingToPlan();
  });

  test('a failed founder replaced: a new member on a fresh volume catches up from the others', async () => {
    const victim = cluster.topology.primaries[1];
    const before = await members();
    const c = cluster.client(cluster.topology.primaries[0].hostClientUrl);
    try {
      await c.put('/it/tofu/before-replace').value('kept');
    } finally {
      c.close();
    }
    await cluster.docker.stop(victim.name, 5);
    const actions = await cluster.apply({ replace: { '2': 1 } });
    expect(strip(actions, 'create').filter((a) => /primary-/.test(a))).toEqual(['terraform_data.cluster_primary-2_join']);
    expect(strip(actions, 'replace').filter((a) => /primary-/.test(a))).toEqual([
      'docker_container.cluster_primary-2_container',
      'docker_volume.cluster_primary-2_data',
      'terraform_data.cluster_primary-2_member',
    ]);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    const replaced = cluster.topology.primaries[1];
    expect(replaced.volume).toBe(`${victim.name}-data-r1`);
    expect(await cluster.docker.inspect('volumes', victim.volume)).toBeUndefined();
    const after = await members();
    expect(after[victim.name]).toBeDefined();
    expect(after[victim.name]).not.toEqual(before[victim.name]);
    const own = cluster.client(replaced.hostClientUrl);
    try {
      expect(await own.get('/it/tofu/before-replace').serializable(true).string()).toBe('kept');
    } finally {
      own.close();
    }
    await nothingToPlan();
  });

  test('no acknowledged write was lost through all of it, and writes went on after the last change', async () => {
    const ended = Date.now();
    const w = await finishAfter(writer, writerClient, ended, (l) => cluster.say(l));
    expect(w.acknowledged).toBeGreaterThan(50);
    expect(w.lost).toEqual([]);
    expect(w.lastAckAt).toBeGreaterThan(ended);
  });
});
