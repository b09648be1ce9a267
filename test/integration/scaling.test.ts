/**
 * Issues 3 and 13: scaling secondaries 2 -> 5 -> 1 with real Terraform. Each plan (read from `terraform show
 * -json`) creates or destroys secondary containers and replaces the verify hook, and nothing else: no
 * primary, volume, network or image changes; a plan right after each step is empty; no acknowledged write
 * is lost.
 */
import { addressesOf } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { TestCluster } from '../harness/test-cluster';
import { finishAfter, Writer } from '../harness/writer';

jest.setTimeout(300_000);

const strip = addressesOf;

describeEngine('scaling secondaries 2 -> 5 -> 1 on a live cluster', () => {
  let cluster: TestCluster;
  let writer: Writer;
  let writerClient: ReturnType<TestCluster['client']>;
  const primaryIds = () => cluster.topology.primaries.map((p) => cluster.deployment.containerId(p.name));
  let idsBefore: (string | undefined)[];

  beforeAll(async () => {
    cluster = await TestCluster.create('scale', { primaries: 3, secondaries: 2, secondary: { registrationTtlSeconds: 3 } });
    await cluster.apply();
    idsBefore = primaryIds();
    writerClient = cluster.client();
    writer = new Writer(writerClient, '/it/writer/').start();
  });
  afterAll(async () => {
    await writer?.stop();
    writerClient?.close();
    await cluster?.teardown();
  });

  test('2 -> 5 creates secondaries 3..5 and re-runs only the hook', async () => {
    const actions = await cluster.apply({ secondaries: 5 });
    expect(strip(actions, 'update')).toEqual([]);
    expect(strip(actions, 'create')).toEqual([
      'docker_container.cluster_secondary-3_container',
      'docker_container.cluster_secondary-4_container',
      'docker_container.cluster_secondary-5_container',
    ]);
    expect(strip(actions, 'replace')).toEqual(['terraform_data.cluster_verify_hook']);
    expect(strip(actions, 'destroy')).toEqual([]);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(primaryIds()).toEqual(idsBefore);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('5 -> 1 destroys secondaries 2..5 and re-runs only the hook', async () => {
    const actions = await cluster.apply({ secondaries: 1 });
    expect(strip(actions, 'update')).toEqual([]);
    expect(strip(actions, 'destroy')).toEqual([
      'docker_container.cluster_secondary-2_container',
      'docker_container.cluster_secondary-3_container',
      'docker_container.cluster_secondary-4_container',
      'docker_container.cluster_secondary-5_container',
    ]);
    expect(strip(actions, 'replace')).toEqual(['terraform_data.cluster_verify_hook']);
    expect(strip(actions, 'create')).toEqual([]);
    // The removed proxies' registrations lapse after their TTL; the hook waited for that.
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(primaryIds()).toEqual(idsBefore);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('no acknowledged write was lost, and writes went on after the last step', async () => {
    const ended = Date.now();
    const w = await finishAfter(writer, writerClient, ended, (l) => cluster.say(l));
    expect(w.acknowledged).toBeGreaterThan(50);
    expect(w.lost).toEqual([]);
    expect(w.lastAckAt).toBeGreaterThan(ended);
  });
});
