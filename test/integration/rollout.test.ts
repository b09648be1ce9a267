/**
 * Issue 15: a change to every primary, rolled out one member at a time with `etcd-cluster rollout` on the
 * real provider. A 3+2 cluster under a writer is rolled to another flag value: no acknowledged write is
 * lost, at no sampled moment (every 200 ms) are fewer than a quorum of primaries running, member IDs stay,
 * followers go first and the leader last, and nothing is left to apply. A rollout to an image that cannot
 * start stops at the first member with the others untouched, and running it again after the fix continues.
 *
 * Issue 25: refusals before anything changes, on a cluster of etcd 3.5.21 (the default image of 0.2.0 and
 * earlier): a voter down, a pending learner, 3.5.21 -> 3.6.16 (below the 3.5.26 that 3.6 needs) by rollout
 * and by the plain apply a spec without `image` makes after upgrading this library (the upgrade check the
 * verify hook runs before Terraform replaces any primary), and
 * a downgrade; and on etcd 3.5.35 with v2 enabled, custom v2 data found by etcdutl check v2store. The
 * upgrades themselves, 3.4 -> 3.5 -> 3.6, are walked by etcd-upgrade.test.ts. Before it applies anything,
 * rollout shows the plan and the order of the members and asks: without a terminal and without --yes it
 * refuses (exit code 2) with nothing changed.
 */
import { applyFailure } from '../harness/cli';
import { ETCD_34_IMAGE, ETCD_3521_IMAGE, ETCD_35_IMAGE, ETCD_36_IMAGE, TEST_IMAGE } from '../harness/env';
import { describeEngine } from '../harness/describe-engine';
import { memberIds, primaryContainerIds, QuorumSampler, type Rolled } from '../harness/rollout';
import { eventually, TestCluster } from '../harness/test-cluster';
import { finishAfter, Writer } from '../harness/writer';
import { verifyCluster } from '../../lib/runtime/verify';

jest.setTimeout(1_800_000);
const BROKEN_IMAGE = 'cdktf-etcd-cluster/etcd:broken';

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

  test('to another flag value: one member at a time, followers first, quorum kept throughout; the flag reaches every member', async () => {
    const sampler = new QuorumSampler(cluster).start();
    const r = await cluster.rollout({ etcd: { extraFlags: ['--snapshot-count=5000'] } }, ['--json']);
    const { lowWater, samples } = sampler.stop();
    expect(r.code).toBe(0);
    const rolled = JSON.parse(r.stdout) as Rolled;
    expect(rolled.steps.map((s) => [s.role, s.action])).toEqual([
      ['follower', 'replace'],
      ['follower', 'replace'],
      ['leader', 'replace'],
    ]);
    // The plan it showed before the first apply: every resource it changes, then the order it rolled in.
    expect(r.stderr).toMatch(new RegExp(`^the plan of \\S+ for ${cluster.name}:\\nACTION {4}RESOURCE\\n`, 'm'));
    for (const s of rolled.steps) expect(r.stderr).toMatch(new RegExp(`^replace   ${s.address.replace(/[.[\]]/g, '\\$&')}$`, 'm'));
    expect(r.stderr).toMatch(/^\d+ to replace, \d+ to update, \d+ to create, 0 to destroy$/m);
    expect(r.stderr).toContain(
      `primaries one at a time, each back and caught up before the next: ${rolled.steps.map((s) => `${s.member} (${s.role})`).join(', ')}; then one apply of the rest\n`,
    );
    // Each member is stopped by the rollout before Terraform replaces it, the leader only once leadership
    // moved to a member already rolled (HANDOVER_GRACE_SECONDS says why).
    const [f1, f2, leader] = rolled.steps.map((s) => s.member);
    for (const m of [f1, f2, leader]) expect(r.stderr).toContain(`stopping ${m} (SIGTERM; killed after 2 s if clients still hold streams to it)\n`);
    expect(r.stderr).toMatch(new RegExp(`^${leader} led: leadership moved to (${f1}|${f2})\\nstopping ${leader} `, 'm'));
    expect(r.stderr).not.toMatch(new RegExp(`(${f1}|${f2}) led:`));
    cluster.say(`quorum sampler: lowest ${lowWater} of 3 primaries running over ${samples} samples`);
    expect(samples).toBeGreaterThan(10);
    expect(lowWater).toBeGreaterThanOrEqual(2);
    for (const p of cluster.topology.primaries) expect((await cluster.docker.inspect('containers', p.name)).Config.Cmd).toContain('--snapshot-count=5000');
    expect(await memberIds(cluster)).toEqual(ids);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('an image that cannot start: the rollout stops at the first member, the others stay; after the fix it continues', async () => {
    await makeBrokenImage(cluster);
    const before = Object.fromEntries(
      await Promise.all(cluster.topology.primaries.map(async (p) => [p.name, (await cluster.docker.inspect('containers', p.name)).Id])),
    );
    const working = (await cluster.docker.inspect('images', TEST_IMAGE)).Id;
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
    const fixed = await cluster.rollout({ image: TEST_IMAGE }, ['--json']);
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
    // The member left down is not running: nothing to stop or hand over; the two others are stopped first.
    expect(fixed.stderr).not.toContain(`stopping ${failed} `);
    for (const s of rolled.steps.slice(1)) expect(fixed.stderr).toContain(`stopping ${s.member} `);
    expect(new Set(rolled.steps.map((s) => s.member)).size).toBe(3);
    for (const p of cluster.topology.primaries) expect((await cluster.docker.inspect('containers', p.name)).Image).toBe(working);
    expect((await verifyCluster(cluster.expectation, { timeoutMs: 60_000 })).problems).toEqual([]);
    expect(await memberIds(cluster)).toEqual(ids);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('no acknowledged write was lost, writes went on after the last rollout; the longest pause of the writer is on record', async () => {
    const ended = Date.now();
    const w = await finishAfter(writer, writerClient, ended, (l) => cluster.say(l));
    expect(w.acknowledged).toBeGreaterThan(50);
    expect(w.lost).toEqual([]);
    expect(w.lastAckAt).toBeGreaterThan(ended);
  });
});

describeEngine('an etcd 3.5.21 cluster (the default image of 0.2.0 and earlier): refusals before anything changes', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('roll3521', { primaries: 3, secondaries: 0, image: ETCD_3521_IMAGE });
    await cluster.apply();
    const c = cluster.client();
    try {
      for (let i = 0; i < 200; i++) await c.put(`/it/roll3521/${String(i).padStart(3, '0')}`).value(`v${i}`);
    } finally {
      c.close();
    }
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  /** The attempt fails with this line, and no primary's container changed. */
  const unchanged = async (attempt: () => Promise<{ code: number; stderr: string }>, message: string | RegExp, code = 1) => {
    const before = await primaryContainerIds(cluster);
    const r = await attempt();
    expect(r.code).toBe(code);
    if (typeof message === 'string') expect(r.stderr).toContain(`etcd-cluster: ${message}\n`);
    else expect(r.stderr).toMatch(message);
    expect(await primaryContainerIds(cluster)).toEqual(before);
  };

  test('a voter that does not answer is refused before anything changes', async () => {
    const down = cluster.topology.primaries[1];
    await cluster.docker.pause(down.name);
    try {
      await unchanged(() => cluster.rollout({ image: ETCD_35_IMAGE }), new RegExp(`refusing to roll out: voter ${down.name} does not answer`));
    } finally {
      await cluster.docker.unpause(down.name);
    }
  });

  test('a pending learner is refused before anything changes', async () => {
    const c = cluster.client();
    const added = await eventually(() => c.cluster.memberAdd({ peerURLs: ['http://learner-ghost:2380'], isLearner: true }), 30_000, 500);
    try {
      await unchanged(
        () => cluster.rollout({ image: ETCD_35_IMAGE }),
        /refusing to roll out: learner \(unstarted [0-9a-f]+\) is pending; promote or remove it first/,
      );
    } finally {
      await c.cluster.memberRemove({ ID: added.member.ID });
      c.close();
    }
  });

  test('3.5.21 -> 3.6.16 by rollout is refused: 3.6 needs 3.5.26 or later, the newest 3.5 patch first', async () => {
    await unchanged(
      () => cluster.rollout({ image: ETCD_36_IMAGE }),
      `refusing to upgrade ${cluster.name} from etcd 3.5.21 to 3.6.16: etcd 3.6 needs every member on 3.5.26 or later; first 3.5.21 -> the newest 3.5 patch (3.5.26 or later), then 3.6.16`,
    );
  });

  test('3.5.21 -> 3.6.16 by a plain apply (the next deploy of a spec without image) is refused by the upgrade check before any container changes', async () => {
    const before = await primaryContainerIds(cluster);
    const image = (await cluster.docker.inspect('images', ETCD_3521_IMAGE)).Id;
    const failure = await applyFailure(cluster.apply({ image: ETCD_36_IMAGE }));
    expect(failure.output).toContain(
      `etcd-cluster: refusing to upgrade ${cluster.name} from etcd 3.5.21 to 3.6.16: etcd 3.6 needs every member on 3.5.26 or later; first 3.5.21 -> the newest 3.5 patch (3.5.26 or later) with etcd-cluster rollout, then 3.6.16`,
    );
    expect(await primaryContainerIds(cluster)).toEqual(before);
    for (const p of cluster.topology.primaries) expect((await cluster.docker.inspect('containers', p.name)).Image).toBe(image);
    // Pinning the image it runs is the way back: the refused apply changed nothing, so nothing is left to do.
    const actions = await cluster.apply({ image: ETCD_3521_IMAGE });
    expect(actions.filter((a) => a.kind !== 'keep')).toEqual([]);
    expect(await primaryContainerIds(cluster)).toEqual(before);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('a downgrade (3.5.21 -> 3.4.23) is refused; every key is still there', async () => {
    await unchanged(
      () => cluster.rollout({ image: ETCD_34_IMAGE }),
      `refusing to roll ${cluster.name} back from etcd 3.5.21 to 3.4.23: etcd does not support downgrades this way (restore a snapshot into a new cluster instead)`,
    );
    const c = cluster.client();
    try {
      expect(await c.getAll().prefix('/it/roll3521/').keys()).toHaveLength(200);
    } finally {
      c.close();
    }
  });

  test('without a terminal and without --yes: the plan is shown, then refused with exit code 2, nothing changed', async () => {
    await unchanged(
      () => cluster.rollout({ image: ETCD_35_IMAGE }, [], { yes: false }),
      new RegExp(
        `\\d+ to replace, .*\\nprimaries one at a time, .*; then one apply of the rest\\netcd-cluster: ${cluster.name}: there is no terminal to ask for confirmation; pass --yes to roll out \\(nothing changed\\)\\n$`,
      ),
      2,
    );
  });
});

describeEngine("etcd 3.5.35 with v2 enabled and a v2 key written: 3.6 is refused with etcd's reason", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create('v2store', { primaries: 1, secondaries: 0, image: ETCD_35_IMAGE, etcd: { extraFlags: ['--enable-v2=true'] } });
    await cluster.apply();
    // A write through etcd's v2 HTTP API, as an application of the v2 era made it.
    const url = `${cluster.topology.primaries[0].hostClientUrl}/v2/keys/legacy/app`;
    const r = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'value=v1' });
    expect(r.status).toBe(201);
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('rollout to 3.6.16 runs etcdutl check v2store on the data, read-only, and refuses before anything changes', async () => {
    const p = cluster.topology.primaries[0];
    const before = await primaryContainerIds(cluster);
    const r = await cluster.rollout({ image: ETCD_36_IMAGE });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${p.name}: custom: detected custom v2 content in WAL records\n`);
    expect(r.stderr).toContain(
      `etcd-cluster: refusing to upgrade ${cluster.name} from etcd 3.5.35 to 3.6.16: etcdutl check v2store on ${p.name}'s data: detected custom v2 content in WAL records; etcd 3.6 does not start on custom v2 data: remove it first (etcd's 3.5 -> 3.6 upgrade guide, "V2 Store")\n`,
    );
    expect(await primaryContainerIds(cluster)).toEqual(before);
    // The check's one-off container is gone, and the member still serves the v2 key it found.
    expect(await cluster.docker.inspect('containers', `${p.name}-v2store-check`)).toBeUndefined();
    const got = (await (await fetch(`${p.hostClientUrl}/v2/keys/legacy/app`)).json()) as { node?: { value?: string } };
    expect(got.node?.value).toBe('v1');
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
