/**
 * Issue 3: scaling secondaries 2 -> 5 -> 1 by applying the new synthesis as a diff creates and destroys
 * only secondaries, keeps every primary container, and loses no acknowledged write.
 */
import { addressesOf } from '../harness/applier';
import { describeEngine } from '../harness/describe-engine';
import { TestCluster } from '../harness/test-cluster';
import { Writer } from '../harness/writer';

jest.setTimeout(300_000);

const strip = addressesOf;

describeEngine('scaling secondaries 2 -> 5 -> 1 on a live cluster', () => {
  let cluster: TestCluster;
  let writer: Writer;
  let writerClient: ReturnType<TestCluster['client']>;
  const primaryIds = () => cluster.topology.primaries.map((p) => cluster.applier.containerId(p.name));
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
    expect(strip(actions, 'create')).toEqual([
      'docker_container.cluster_secondary-3_container',
      'docker_container.cluster_secondary-4_container',
      'docker_container.cluster_secondary-5_container',
    ]);
    expect(strip(actions, 'replace')).toEqual(['terraform_data.cluster_verify_hook']);
    expect(strip(actions, 'destroy')).toEqual([]);
    expect(cluster.applier.lastHookOutput).toMatch(/matches the spec/);
    expect(primaryIds()).toEqual(idsBefore);
  });

  test('5 -> 1 destroys secondaries 2..5 and re-runs only the hook', async () => {
    const actions = await cluster.apply({ secondaries: 1 });
    expect(strip(actions, 'destroy')).toEqual([
      'docker_container.cluster_secondary-2_container',
      'docker_container.cluster_secondary-3_container',
      'docker_container.cluster_secondary-4_container',
      'docker_container.cluster_secondary-5_container',
    ]);
    expect(strip(actions, 'replace')).toEqual(['terraform_data.cluster_verify_hook']);
    expect(strip(actions, 'create')).toEqual([]);
    // The removed proxies' registrations lapse after their TTL; the hook waited for that.
    expect(cluster.applier.lastHookOutput).toMatch(/matches the spec/);
    expect(primaryIds()).toEqual(idsBefore);
  });

  test('no acknowledged write was lost', async () => {
    await writer.stop();
    expect(writer.acknowledged.length).toBeGreaterThan(50);
    expect(await writer.lost(writerClient)).toEqual([]);
    cluster.say(`writer: ${writer.acknowledged.length} acknowledged writes, ${writer.failures} failed attempts, none lost`);
  });
});
