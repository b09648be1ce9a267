/**
 * Issue 4: the verifier and the post-apply hook against real clusters. A healthy cluster passes; each
 * breakage fails within the timeout with a report that names the member.
 */
import { addressesOf, ApplyFailed } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { etcdCluster } from '../harness/cli';
import { freePortRange } from '../harness/env';
import { eventually, TestCluster, type Overrides } from '../harness/test-cluster';
import { stableAddress } from '../helpers/synth';
import { verifyCluster } from '../../lib/runtime/verify';

jest.setTimeout(300_000);

/** Runs the real CLI against a stack directory holding the synthesis of the cluster's spec with these changes. */
async function cli(cluster: TestCluster, args: string[], changes: Overrides = {}) {
  return etcdCluster([...args, '--stack', cluster.stackDir(changes)], { timeoutMs: 120_000 });
}

async function expectHealthy(cluster: TestCluster) {
  const report = await verifyCluster(cluster.expectation, { timeoutMs: 60_000 });
  expect(report.problems).toEqual([]);
}

describeEngine('verifying a live 3+2 cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('verify', { primaries: 3, secondaries: 2, secondary: { registrationTtlSeconds: 3 } });
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('members prints a leader, two followers and two registered secondaries', async () => {
    const r = await cli(cluster, ['members']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    cluster.say(`etcd-cluster members:\n${r.stdout}`);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0].split(/\s{2,}/)).toEqual(['NAME', 'ROLE', 'STATE', 'ID', 'ENDPOINT', 'CLIENT-URL', 'PEER-URL', 'TTL/INDEX']);
    const states = rows.slice(1).map((row) => row.split(/\s+/).slice(0, 3).join(' '));
    expect(states.filter((s) => /primary leader$/.test(s))).toHaveLength(1);
    expect(states.filter((s) => /primary follower$/.test(s))).toHaveLength(2);
    expect(states.filter((s) => /secondary registered$/.test(s))).toHaveLength(2);
    expect(rows.slice(1).map((row) => row.split(/\s+/)[0])).toEqual(
      cluster.expectation.target.primaries.map((p) => p.name).concat(cluster.expectation.secondaries.map((s) => s.name)),
    );
  });

  test('verify --json passes on the healthy cluster', async () => {
    const r = await cli(cluster, ['verify', '--json', '--timeout', '20']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.members.map((m: { state: string }) => m.state).sort()).toEqual(['follower', 'follower', 'leader', 'registered', 'registered']);
  });

  test('a stopped primary is reported as unreachable', async () => {
    const victim = cluster.topology.primaries[2];
    await cluster.docker.stop(victim.name, 5);
    try {
      const r = await cli(cluster, ['verify', '--timeout', '3']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`- ${victim.name}: unreachable at ${victim.hostClientUrl}`);
      expect(r.stderr).toMatch(/waiting for .*: .*unreachable/);
    } finally {
      await cluster.docker.start(victim.name);
    }
    await expectHealthy(cluster);
  });

  test('an extra member added out of band is reported', async () => {
    const c = cluster.client();
    // etcd's strict reconfiguration check refuses while a member restarted a moment ago.
    const added = await eventually(() => c.cluster.memberAdd({ peerURLs: ['http://ghost-member:2380'] }), 30_000, 500);
    try {
      const r = await cli(cluster, ['verify', '--timeout', '2', '--json']);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report.problems).toContainEqual({
        subject: `(unstarted ${BigInt(added.member.ID).toString(16)})`,
        message: 'is an extra member (peer URLs http://ghost-member:2380) that the spec does not declare',
      });
    } finally {
      await c.cluster.memberRemove({ ID: added.member.ID });
      c.close();
    }
    await expectHealthy(cluster);
  });

  test('a primary whose peer URL was changed out of band is reported', async () => {
    const target = cluster.topology.primaries[1];
    const c = cluster.client();
    const { members } = await c.cluster.memberList({ linearizable: false });
    const id = members.find((m) => m.name === target.name)!.ID;
    await c.cluster.memberUpdate({ ID: id, peerURLs: [`http://${target.name}-moved:2380`] });
    try {
      const r = await cli(cluster, ['verify', '--timeout', '2']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`- ${target.name}: has peer URL http://${target.name}-moved:2380, declared ${target.peerUrl}`);
    } finally {
      await eventually(() => c.cluster.memberUpdate({ ID: id, peerURLs: [target.peerUrl] }));
      c.close();
    }
    await expectHealthy(cluster);
  });

  test('a stopped secondary is reported once its registration lapses', async () => {
    const victim = cluster.topology.secondaries[1];
    await cluster.docker.stop(victim.name, 5);
    try {
      const r = await cli(cluster, ['verify', '--timeout', '8']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`- ${victim.name}: is not registered under ${cluster.topology.registryPrefix}`);
      expect(r.stdout).toContain(`- ${victim.name}: does not serve reads at ${victim.hostClientUrl}`);
    } finally {
      await cluster.docker.start(victim.name);
    }
    await expectHealthy(cluster);
  });

  test('unreachable published ports are reported for every member, with the exit code for nothing answering', async () => {
    const wrong = await freePortRange(30);
    const r = await cli(cluster, ['verify', '--timeout', '2', '--json'], { ports: { primaryBase: wrong, secondaryBase: wrong + 10 } });
    expect(r.code).toBe(3);
    const subjects = JSON.parse(r.stdout).problems.map((p: { subject: string; message: string }) => `${p.subject}: ${p.message.split(':')[0]}`);
    for (let i = 0; i < 3; i++) expect(subjects).toContain(`${cluster.topology.primaries[i].name}: unreachable at http`);
  });

  test('a primary stopped out of band: the next deploy starts it again on its volume, as the same member, and the hook verifies', async () => {
    // The provider's must_run (true): a declared container that is not running is planned again. The plan
    // touches that container only; its volume, and so its member ID and data, stay.
    const victim = cluster.topology.primaries[2];
    const id = (await cluster.member(victim.name))?.ID;
    const volumeBefore = (await cluster.docker.inspect('volumes', victim.volume)).CreatedAt;
    await cluster.docker.stop(victim.name, 5);
    const plan = await cluster.deployment.plan(cluster.synth());
    expect(plan.code).toBe(2);
    const changed = plan.actions.filter((a) => a.kind !== 'keep');
    expect(changed.map((a) => `${a.kind} ${stableAddress(a.address)}`).sort()).toEqual([
      'replace docker_container.cluster_primary-3_container',
      'replace terraform_data.cluster_verify_hook',
    ]);
    await cluster.apply();
    expect((await cluster.docker.inspect('containers', victim.name)).State.Running).toBe(true);
    expect((await cluster.docker.inspect('volumes', victim.volume)).CreatedAt).toBe(volumeBefore);
    expect((await cluster.member(victim.name))?.ID).toBe(id);
    // The hook ran again because a member's container changed.
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    await expectHealthy(cluster);
  });

  test('the hook fails an apply while a primary does not answer, and the next apply retries it', async () => {
    // Paused: running for Docker (Terraform leaves it alone), silent for etcd, like a hung member.
    const victim = cluster.topology.primaries[0];
    await cluster.docker.pause(victim.name);
    let failure: unknown;
    try {
      await cluster.apply({ secondaries: 3, verify: { timeoutSeconds: 5 } });
    } catch (e) {
      failure = e;
    } finally {
      await cluster.docker.unpause(victim.name);
    }
    expect(failure).toBeInstanceOf(ApplyFailed);
    expect((failure as ApplyFailed).output).toContain(`- ${victim.name}: unreachable`);
    expect((failure as ApplyFailed).output).toMatch(/local-exec provisioner error|Error running command/);
    // Terraform tainted the hook: a plan of the same config replaces it, and applying runs it again.
    const again = await cluster.deployment.plan(cluster.synth({ verify: { timeoutSeconds: 60 } }));
    expect(addressesOf(again.actions, 'replace')).toEqual(['terraform_data.cluster_verify_hook']);
    await cluster.apply({ verify: { timeoutSeconds: 60 } });
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
  });
});

describeEngine('a primary bootstrapped with another token', () => {
  let cluster: TestCluster;
  afterAll(async () => cluster && (await cluster.teardown()));

  test('fails the hook under real Terraform, naming the member', async () => {
    cluster = await TestCluster.create('token', { primaries: 3, verify: { timeoutSeconds: 8 } });
    const odd = cluster.topology.primaries[2].name;
    let failure: unknown;
    try {
      await cluster.apply({}, (tf) => {
        for (const c of Object.values(tf.resource.docker_container)) {
          if (c.name !== odd) continue;
          c.command = (c.command as string[]).map((f) => (f.startsWith('--initial-cluster-token=') ? '--initial-cluster-token=another-token' : f));
        }
      });
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(ApplyFailed);
    const output = (failure as ApplyFailed).output;
    cluster.say(
      `hook output:\n${output
        .split('\n')
        .filter((l) => l.includes(' - '))
        .join('\n')}`,
    );
    // A node with another token never serves clients, so the report says what etcd shows of it.
    expect(output).toContain(`- ${odd}: unreachable at `);
    expect(output).toContain(`- ${odd}: is listed but has never joined (no client URL published): was it started with another --initial-cluster-token`);
  });
});
