/**
 * Issue 15: a change to every primary, rolled out one member at a time with `etcd-cluster rollout` on the
 * real provider. A 3+2 cluster under a writer is rolled to another etcd release (3.5.21 -> 3.6.16) and to
 * another flag value: no acknowledged write is lost, at no sampled moment (every 200 ms) are fewer than a
 * quorum of primaries running, member IDs stay, followers go first and the leader last, and nothing is left
 * to apply. A rollout to an image that cannot start stops at the first member with the others untouched,
 * and running it again after the fix continues. A 3.4 -> 3.5 upgrade keeps every key; a voter down, a
 * pending learner, a jump of two minor releases and a downgrade are refused before anything changes. Before
 * it applies anything it shows the plan and the order of the members and asks: without a terminal and
 * without --yes it refuses (exit code 2) with nothing changed.
 */
import { ETCD_34_IMAGE, TEST_IMAGE } from '../harness/env';
import { describeEngine } from '../harness/describe-engine';
import { eventually, TestCluster } from '../harness/test-cluster';
import { Writer } from '../harness/writer';
import { verifyCluster } from '../../lib/runtime/verify';

jest.setTimeout(1_800_000);
const ETCD_36_IMAGE = 'cdktf-etcd-cluster/etcd:3.6.16-local';
const BROKEN_IMAGE = 'cdktf-etcd-cluster/etcd:broken';

interface Rolled {
  cluster: string;
  from?: string;
  to?: string;
  steps: { member: string; role: string; address: string; action: string; seconds: number }[];
}

/** Counts running primary containers every 200 ms; the lowest count seen is what a rollout must keep at a quorum. */
class QuorumSampler {
  lowest = Number.POSITIVE_INFINITY;
  samples = 0;
  private timer?: NodeJS.Timeout;
  constructor(private readonly cluster: TestCluster) {}
  start(): this {
    this.timer = setInterval(async () => {
      const states = await Promise.all(this.cluster.topology.primaries.map((p) => this.cluster.docker.inspect('containers', p.name).catch(() => undefined)));
      const running = states.filter((s) => s?.State?.Running && !s.State.Restarting).length;
      this.lowest = Math.min(this.lowest, running);
      this.samples++;
    }, 200);
    return this;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

async function memberIds(cluster: TestCluster): Promise<Record<string, string>> {
  const c = cluster.client();
  try {
    return Object.fromEntries((await c.cluster.memberList({ linearizable: true })).members.map((m) => [m.name, m.ID]));
  } finally {
    c.close();
  }
}

async function versions(cluster: TestCluster): Promise<string[]> {
  return Promise.all(
    cluster.topology.primaries.map(async (p) => {
      const c = cluster.client(p.hostClientUrl);
      try {
        return (await c.maintenance.status()).version;
      } finally {
        c.close();
      }
    }),
  );
}

describeEngine('rolling changes through a live 3+2 cluster under a writer', () => {
  let cluster: TestCluster;
  let writer: Writer;
  let writerClient: ReturnType<TestCluster['client']>;
  let ids: Record<string, string>;

  beforeAll(async () => {
    cluster = await TestCluster.create('roll', { primaries: 3, secondaries: 2, image: TEST_IMAGE });
    await cluster.apply();
    ids = await memberIds(cluster);
    writerClient = cluster.client();
    writer = new Writer(writerClient, '/it/roll/').start();
  });
  afterAll(async () => {
    await writer?.stop();
    writerClient?.close();
    await cluster?.teardown();
  });

  test('to the next etcd minor release: one member at a time, followers first, quorum kept throughout', async () => {
    const sampler = new QuorumSampler(cluster).start();
    const r = await cluster.rollout({ image: ETCD_36_IMAGE }, ['--json']);
    sampler.stop();
    expect(r.code).toBe(0);
    const rolled = JSON.parse(r.stdout) as Rolled;
    expect([rolled.from, rolled.to]).toEqual(['3.5.21', '3.6.16']);
    expect(rolled.steps.map((s) => s.role)).toEqual(['follower', 'follower', 'leader']);
    // The plan it showed before the first apply: every resource it changes, then the order it rolled in.
    expect(r.stderr).toMatch(new RegExp(`^the plan of \\S+ for ${cluster.name}:\\nACTION {4}RESOURCE\\n`, 'm'));
    for (const s of rolled.steps) expect(r.stderr).toMatch(new RegExp(`^replace   ${s.address.replace(/[.[\]]/g, '\\$&')}$`, 'm'));
    expect(r.stderr).toMatch(/^\d+ to replace, \d+ to update, \d+ to create, 0 to destroy$/m);
    expect(r.stderr).toContain(
      `primaries one at a time, each back and caught up before the next: ${rolled.steps.map((s) => `${s.member} (${s.role})`).join(', ')}; then one apply of the rest\n`,
    );
    expect(rolled.steps.every((s) => s.action === 'replace')).toBe(true);
    cluster.say(`quorum sampler: lowest ${sampler.lowest} of 3 primaries running over ${sampler.samples} samples`);
    expect(sampler.samples).toBeGreaterThan(10);
    expect(sampler.lowest).toBeGreaterThanOrEqual(2);
    expect(await versions(cluster)).toEqual(['3.6.16', '3.6.16', '3.6.16']);
    expect(await memberIds(cluster)).toEqual(ids);
    expect((await cluster.deployment.plan()).code).toBe(0);
    expect((await verifyCluster(cluster.expectation, { timeoutMs: 60_000 })).problems).toEqual([]);
  });

  test('to another flag value: the same, and the flag reaches every member', async () => {
    const sampler = new QuorumSampler(cluster).start();
    const r = await cluster.rollout({ etcd: { extraFlags: ['--snapshot-count=5000'] } }, ['--json']);
    sampler.stop();
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Rolled).steps).toHaveLength(3);
    expect(sampler.lowest).toBeGreaterThanOrEqual(2);
    for (const p of cluster.topology.primaries) expect((await cluster.docker.inspect('containers', p.name)).Config.Cmd).toContain('--snapshot-count=5000');
    expect(await memberIds(cluster)).toEqual(ids);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('an image that cannot start: the rollout stops at the first member, the others stay; after the fix it continues', async () => {
    await makeBrokenImage(cluster);
    const before = Object.fromEntries(
      await Promise.all(cluster.topology.primaries.map(async (p) => [p.name, (await cluster.docker.inspect('containers', p.name)).Id])),
    );
    const working = (await cluster.docker.inspect('images', ETCD_36_IMAGE)).Id;
    const stopped = await cluster.rollout({ image: BROKEN_IMAGE }, ['--timeout', '20']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/rollout stopped: \S+-primary-\d did not come back healthy within 20s/);
    const failed = /rollout stopped: (\S+-primary-\d) /.exec(stopped.stderr)![1];
    for (const p of cluster.topology.primaries) {
      if (p.name === failed) continue;
      const live = await cluster.docker.inspect('containers', p.name);
      expect([p.name, live.Id, live.Image]).toEqual([p.name, before[p.name], working]);
    }
    // The fix: back to the release that works. The member left down is rolled first.
    const fixed = await cluster.rollout({ image: ETCD_36_IMAGE }, ['--json']);
    expect(fixed.code).toBe(0);
    const rolled = JSON.parse(fixed.stdout) as Rolled;
    // Always three steps, the member left down first. The stopped rollout replaced the image resource (the
    // provider's docker_image `name` forces a new resource), and the working tag replaces it once more: its
    // `image_id` is unknown until that apply, and every primary's container names it (`image` forces a new
    // container), so the plan replaces all three. The other two restart once more, one at a time, on the
    // image they already ran.
    expect(rolled.steps.map((s) => [s.role, s.action])).toEqual([
      ['down', 'replace'],
      ['follower', 'replace'],
      ['leader', 'replace'],
    ]);
    expect(rolled.steps[0].member).toBe(failed);
    expect(new Set(rolled.steps.map((s) => s.member)).size).toBe(3);
    for (const p of cluster.topology.primaries) expect((await cluster.docker.inspect('containers', p.name)).Image).toBe(working);
    expect((await verifyCluster(cluster.expectation, { timeoutMs: 60_000 })).problems).toEqual([]);
    expect(await memberIds(cluster)).toEqual(ids);
  });

  test('no acknowledged write was lost; the longest pause of the writer is on record', async () => {
    const w = await writer.finish(writerClient);
    cluster.say(w.summary);
    expect(w.acknowledged).toBeGreaterThan(50);
    expect(w.lost).toEqual([]);
  });
});

describeEngine('an etcd 3.4 cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('roll34', { primaries: 3, secondaries: 0, image: ETCD_34_IMAGE });
    await cluster.apply();
    const c = cluster.client();
    try {
      for (let i = 0; i < 200; i++) await c.put(`/it/roll34/${String(i).padStart(3, '0')}`).value(`v${i}`);
    } finally {
      c.close();
    }
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  const unchanged = async (attempt: () => Promise<{ code: number; stderr: string }>, message: RegExp, code = 1) => {
    const before = await Promise.all(cluster.topology.primaries.map(async (p) => (await cluster.docker.inspect('containers', p.name)).Id));
    const r = await attempt();
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(await Promise.all(cluster.topology.primaries.map(async (p) => (await cluster.docker.inspect('containers', p.name)).Id))).toEqual(before);
  };

  test('a jump of two minor releases (3.4 -> 3.6) is refused before anything changes', async () => {
    await unchanged(
      () => cluster.rollout({ image: ETCD_36_IMAGE }),
      /refusing to upgrade from etcd 3\.4\.23 to 3\.6\.16: etcd upgrades one minor release at a time \(3\.4 -> 3\.5 first\)/,
    );
  });

  test('a voter that does not answer is refused before anything changes', async () => {
    const down = cluster.topology.primaries[1];
    await cluster.docker.pause(down.name);
    try {
      await unchanged(() => cluster.rollout({ image: TEST_IMAGE }), new RegExp(`refusing to roll out: voter ${down.name} does not answer`));
    } finally {
      await cluster.docker.unpause(down.name);
    }
  });

  test('a pending learner is refused before anything changes', async () => {
    const c = cluster.client();
    const added = await eventually(() => c.cluster.memberAdd({ peerURLs: ['http://learner-ghost:2380'], isLearner: true }), 30_000, 500);
    try {
      await unchanged(
        () => cluster.rollout({ image: TEST_IMAGE }),
        /refusing to roll out: learner \(unstarted [0-9a-f]+\) is pending; promote or remove it first/,
      );
    } finally {
      await c.cluster.memberRemove({ ID: added.member.ID });
      c.close();
    }
  });

  test('without a terminal and without --yes: the plan is shown, then refused with exit code 2, nothing changed', async () => {
    await unchanged(
      () => cluster.rollout({ image: TEST_IMAGE }, [], { yes: false }),
      new RegExp(
        `\\d+ to replace, .*\\nprimaries one at a time, .*; then one apply of the rest\\netcd-cluster: ${cluster.name}: there is no terminal to ask for confirmation; pass --yes to roll out \\(nothing changed\\)\\n$`,
      ),
      2,
    );
  });

  test('3.4 -> 3.5 keeps every key; going back to 3.4 is refused', async () => {
    const r = await cluster.rollout({ image: TEST_IMAGE }, ['--json']);
    expect(r.code).toBe(0);
    expect(await versions(cluster)).toEqual(['3.5.21', '3.5.21', '3.5.21']);
    const c = cluster.client();
    try {
      expect(await c.getAll().prefix('/it/roll34/').keys()).toHaveLength(200);
    } finally {
      c.close();
    }
    await unchanged(() => cluster.rollout({ image: ETCD_34_IMAGE }), /refusing to roll back from etcd 3\.5\.21 to 3\.4\.23: etcd does not support downgrades/);
  });
});

/** An image whose `etcd` exits at once: busybox, called by that name. */
async function makeBrokenImage(cluster: TestCluster): Promise<void> {
  if (await cluster.docker.inspect('images', BROKEN_IMAGE)) return;
  const created = await cluster.docker.call('POST', '/containers/create', {
    Image: 'cdktf-etcd-cluster/toolbox:local',
    Cmd: ['/bin/sh', '-c', 'mkdir -p /usr/local/bin && ln -s /bin/busybox /usr/local/bin/etcd && ln -s /bin/busybox /usr/local/bin/etcdctl'],
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await cluster.docker.call('POST', `/containers/${created.Id}/start`);
    await cluster.docker.call('POST', `/containers/${created.Id}/wait`);
    const [repo, tag] = BROKEN_IMAGE.split(':');
    await cluster.docker.call('POST', `/commit?container=${created.Id}&repo=${encodeURIComponent(repo)}&tag=${tag}`, {});
  } finally {
    await cluster.docker.removeContainer(created.Id);
  }
}
