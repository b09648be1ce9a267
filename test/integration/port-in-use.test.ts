/**
 * README, "A port already in use", as a user meets it: a process on the host holds the published port of one
 * primary, so `terraform apply` fails creating or starting that container with Docker's `address already in
 * use`; the holder goes, the same deploy runs again and brings up the whole cluster (the hook verifies it),
 * and the plan after it is empty. And another cluster's container publishing the port is `port is already
 * allocated`.
 */
import { createServer, type Server } from 'node:net';
import { applyFailure } from '../harness/cli';
import type { ApplyFailed } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { TestCluster } from '../harness/test-cluster';

jest.setTimeout(300_000);

const portOf = (url: string) => Number(new URL(url).port);
const hold = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describeEngine('a port already in use', () => {
  let cluster: TestCluster;
  let other: TestCluster | undefined;
  afterAll(async () => {
    await other?.teardown();
    await cluster?.teardown();
  });

  test('held by a process: the deploy fails naming it; once it is gone the same deploy brings the cluster up', async () => {
    cluster = await TestCluster.create('portheld', { primaries: 3, secondaries: 1 });
    const port = portOf(cluster.topology.primaries[1].hostClientUrl);
    const holder = await hold(port);
    let failure: ApplyFailed;
    try {
      failure = await applyFailure(cluster.apply(), 'the apply while the port was held');
    } finally {
      await new Promise((r) => holder.close(r));
    }
    expect(failure.output).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}\\b.*address already in use|address already in use.*\\b${port}\\b`, 's'));
    cluster.say(`the failed deploy said: ${/[^\n]*address already in use[^\n]*/.exec(failure.output)![0].trim()}`);
    // The README's way out: the holder stopped, deploy again.
    await cluster.apply();
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test("published by another cluster's container: the deploy fails with Docker's 'port is already allocated'", async () => {
    const taken = portOf(cluster.topology.secondaries[0].hostClientUrl);
    other = await TestCluster.create('porttaken', { primaries: 1, secondaries: 0 });
    const failure = await applyFailure(other.apply({ ports: { ...other.spec.ports, primaryBase: taken } }), 'the apply on a port another cluster publishes');
    // Docker names the address it could not bind: the port the other cluster holds, and no other.
    expect(failure.output).toMatch(new RegExp(`127\\.0\\.0\\.1:${taken}\\b[^\\n]*port is already allocated`));
    // The cluster that holds the port is untouched.
    expect((await cluster.deployment.plan()).code).toBe(0);
  });
});
