/**
 * Issue 17: production settings on a live cluster. Limits reach the containers (and a memory change is an
 * in-place update), an extra flag reaches etcd, metrics are served and scraped, every member answers to its
 * role's shared name on the cluster network, and a cluster filled to its (tiny) quota raises NOSPACE: verify
 * reports it, and after delete, compaction, defragmentation and `alarm disarm` writes work again.
 */
import { addressesOf } from '../harness/deployment';
import { describeEngine } from '../harness/describe-engine';
import { etcdCluster } from '../harness/cli';
import { TestCluster } from '../harness/test-cluster';
import { putOutcome } from '../harness/probes';

jest.setTimeout(600_000);
const TOOLBOX = 'cdktf-etcd-cluster/toolbox:local';
const QUOTA = 4 * 1024 * 1024;

describeEngine('production settings on a live 3+2 cluster', () => {
  let cluster: TestCluster;
  const cli = (args: string[]) => etcdCluster([...args, '--stack', cluster.stackDir()], { timeoutMs: 300_000 });

  beforeAll(async () => {
    cluster = await TestCluster.create('prod', {
      primaries: 3,
      secondaries: 2,
      resources: { memoryMiB: 256, cpus: 0.5 },
      secondary: { resources: { memoryMiB: 96 } },
      metrics: {},
      etcd: { quotaBackendBytes: QUOTA, extraFlags: ['--max-request-bytes=262144'], env: { GOMAXPROCS: '2' } },
    });
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  test('limits and the environment are what docker inspect shows', async () => {
    const p = await cluster.docker.inspect('containers', cluster.topology.primaries[0].name);
    expect([p.HostConfig.Memory, p.HostConfig.MemorySwap, p.HostConfig.NanoCpus]).toEqual([256 * 1024 ** 2, 256 * 1024 ** 2, 0.5e9]);
    expect(p.Config.Env).toContain('GOMAXPROCS=2');
    const s = await cluster.docker.inspect('containers', cluster.topology.secondaries[1].name);
    expect([s.HostConfig.Memory, s.HostConfig.NanoCpus]).toEqual([96 * 1024 ** 2, 0]);
  });

  test('raising the memory limit updates the primaries in place: same containers, same members', async () => {
    const ids = cluster.topology.primaries.map((p) => cluster.deployment.containerId(p.name));
    const actions = await cluster.apply({ resources: { memoryMiB: 320, cpus: 0.5 } });
    expect(addressesOf(actions, 'update').filter((a) => a.startsWith('docker_container'))).toEqual([
      'docker_container.cluster_primary-1_container',
      'docker_container.cluster_primary-2_container',
      'docker_container.cluster_primary-3_container',
    ]);
    expect(addressesOf(actions, 'replace').filter((a) => a.startsWith('docker_container'))).toEqual([]);
    expect(cluster.topology.primaries.map((p) => cluster.deployment.containerId(p.name))).toEqual(ids);
    expect((await cluster.docker.inspect('containers', cluster.topology.primaries[2].name)).HostConfig.Memory).toBe(320 * 1024 ** 2);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect((await cluster.deployment.plan()).code).toBe(0);
  });

  test('the extra flag reaches etcd: a request over --max-request-bytes is refused, one under it accepted', async () => {
    const c = cluster.client();
    try {
      await expect(c.put('/it/prod/big').value('x'.repeat(300 * 1024))).rejects.toThrow(/request is too large/);
      await c.put('/it/prod/small').value('x'.repeat(200 * 1024));
      await c.delete().key('/it/prod/small');
    } finally {
      c.close();
    }
  });

  test('every member serves metrics where members shows them; scrape-config lists them', async () => {
    for (const m of [...cluster.topology.primaries, ...cluster.topology.secondaries]) {
      const r = await fetch(m.hostMetricsUrl!);
      expect([m.name, r.status]).toEqual([m.name, 200]);
      const text = await r.text();
      // The quota, as the member itself reports it (Prometheus writes 4.194304e+06).
      if (m.role === 'primary') expect(Number(/^etcd_server_quota_backend_bytes (\S+)$/m.exec(text)?.[1])).toBe(QUOTA);
      else expect(text).toMatch(/^grpc_server_started_total/m);
    }
    const members = await cli(['members']);
    expect(members.stdout.split('\n')[0]).toMatch(/\bMETRICS$/);
    expect(members.stdout).toContain(cluster.topology.primaries[1].hostMetricsUrl);
    const scrape = await cli(['scrape-config']);
    expect(scrape.code).toBe(0);
    for (const m of cluster.topology.primaries) expect(scrape.stdout).toContain(`- 127.0.0.1:${m.metricsPort!.external}`);
    expect(scrape.stdout).toContain(`job_name: etcd-${cluster.name}`);
  });

  test('a container on the cluster network finds every primary and every secondary by one name', async () => {
    const addresses = async (names: string[]) =>
      (
        await Promise.all(
          names.map(async (n) => (await cluster.docker.inspect('containers', n)).NetworkSettings.Networks[cluster.topology.network.name].IPAddress),
        )
      ).sort();
    for (const [shared, members] of [
      [cluster.topology.discovery.primaries, cluster.topology.primaries.map((p) => p.name)],
      [cluster.topology.discovery.secondaries, cluster.topology.secondaries.map((s) => s.name)],
    ] as const) {
      const r = await cluster.docker.runOnce(TOOLBOX, ['nslookup', shared], cluster.topology.network.name);
      const found = [...r.output.matchAll(/^Address: (\d+\.\d+\.\d+\.\d+)$/gm)].map((m) => m[1]).sort();
      expect([shared, found]).toEqual([shared, await addresses([...members])]);
    }
  });

  test('filled to its quota: NOSPACE is reported; after delete, compact, defrag and alarm disarm, writes work', async () => {
    const c = cluster.client();
    try {
      const chunk = 'x'.repeat(200 * 1024);
      let refused = '';
      for (let i = 0; i < 200 && !refused; i++) {
        refused = await putOutcome(cluster.client(), `/it/prod/fill/${String(i).padStart(4, '0')}`, chunk).then((o) => (o === 'accepted' ? '' : o));
      }
      expect(refused).toMatch(/database space exceeded/);
      const verify = await cli(['verify', '--timeout', '3']);
      expect(verify.code).toBe(1);
      expect(verify.stdout).toMatch(/alarm NOSPACE is active: the backend reached its quota/);
      expect((await cli(['alarm', 'list'])).stdout).toMatch(/NOSPACE/);

      await c.delete().prefix('/it/prod/fill/');
      expect((await cli(['compact'])).code).toBe(0);
      const defrag = await cli(['defrag', '--json']);
      expect(defrag.code).toBe(0);
      const steps = JSON.parse(defrag.stdout) as { member: string; role: string; afterBytes: number }[];
      expect(steps.map((s) => s.role)).toEqual(['follower', 'follower', 'leader']);
      for (const s of steps) expect(s.afterBytes).toBeLessThan(QUOTA);
      const disarm = await cli(['alarm', 'disarm']);
      expect([disarm.code, disarm.stdout]).toEqual([0, expect.stringContaining('disarmed')]);
      expect(await putOutcome(cluster.client(), '/it/prod/after', 'ok')).toBe('accepted');
      expect((await cli(['verify', '--timeout', '30'])).code).toBe(0);
    } finally {
      c.close();
    }
  });
});
