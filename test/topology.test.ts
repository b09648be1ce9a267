import { validateSpec } from '../lib/model';
import { buildTopology, expectationOf, membershipOf } from '../lib/model';
import { healthcheckOf, labelsOf } from '../lib/model/topology/context';
import type { Healthcheck } from '../lib/model/topology/types';

const topo = (props: Record<string, unknown>) => buildTopology(validateSpec(props));

describe('topology of a 3+2 cluster', () => {
  const t = topo({ name: 'c1', primaries: 3, secondaries: 2, ports: { primaryBase: 12379, secondaryBase: 22379 } });

  test('names, network, token and prefixes', () => {
    expect(t.network).toEqual({ name: 'c1-net' });
    expect(t.token).toBe('c1-etcd-cluster');
    expect(t.registryPrefix).toBe('/cdktf-etcd-cluster/c1/secondaries');
    expect(t.verifyPrefix).toBe('/cdktf-etcd-cluster/c1/verify/');
    expect(t.primaries.map((p) => [p.name, p.volume])).toEqual([
      ['c1-primary-1', 'c1-primary-1-data'],
      ['c1-primary-2', 'c1-primary-2-data'],
      ['c1-primary-3', 'c1-primary-3-data'],
    ]);
    expect(t.secondaries.map((s) => s.name)).toEqual(['c1-secondary-1', 'c1-secondary-2']);
  });

  test('initial cluster uses the same host strings as the advertised peer URLs', () => {
    expect(t.initialCluster).toBe('c1-primary-1=http://c1-primary-1:2380,c1-primary-2=http://c1-primary-2:2380,c1-primary-3=http://c1-primary-3:2380');
    for (const p of t.primaries) {
      expect(t.initialCluster).toContain(`${p.name}=${p.peerUrl}`);
      expect(p.command).toContain(`--initial-advertise-peer-urls=${p.peerUrl}`);
    }
  });

  test('every flag of primary 2', () => {
    expect(t.primaries[1].command).toEqual([
      '/usr/local/bin/etcd',
      '--name=c1-primary-2',
      '--data-dir=/var/lib/etcd/data',
      '--listen-peer-urls=http://0.0.0.0:2380',
      '--listen-client-urls=http://0.0.0.0:2379',
      '--advertise-client-urls=http://c1-primary-2:2379',
      '--initial-advertise-peer-urls=http://c1-primary-2:2380',
      `--initial-cluster=${t.initialCluster}`,
      '--initial-cluster-state=new',
      '--initial-cluster-token=c1-etcd-cluster',
      // Safe defaults for a long-running cluster: periodic compaction, an explicit quota.
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=1h',
      '--quota-backend-bytes=2147483648',
    ]);
    expect(t.primaries[1].env).toEqual({});
  });

  test('primaries publish only their client port, on loopback, at base + i - 1', () => {
    expect(t.primaries.map((p) => p.port)).toEqual([
      { internal: 2379, external: 12379, ip: '127.0.0.1' },
      { internal: 2379, external: 12380, ip: '127.0.0.1' },
      { internal: 2379, external: 12381, ip: '127.0.0.1' },
    ]);
    expect(t.primaries.map((p) => p.hostClientUrl)).toEqual(['http://127.0.0.1:12379', 'http://127.0.0.1:12380', 'http://127.0.0.1:12381']);
  });

  test('healthcheck is exec form with canonical durations', () => {
    expect(t.primaries[0].healthcheck).toEqual({
      test: ['CMD', '/usr/local/bin/etcdctl', '--endpoints=http://127.0.0.1:2379', '--command-timeout=2s', 'endpoint', 'health'],
      interval: '5s',
      timeout: '3s',
      startPeriod: '10s',
      retries: 3,
    });
  });

  test("a secondary's healthcheck runs every 30 s, and its digest label covers the timings", () => {
    const [p, s] = [t.primaries[0], t.secondaries[0]];
    expect(s.healthcheck).toMatchObject({ interval: '30s', timeout: '3s', startPeriod: '10s', retries: 3 });
    expect(s.healthcheck!.test).toContain('endpoint');
    // Same command shape, different timings: the digests differ, so a timing change replaces the container.
    const digest = (labels: Record<string, string>) => labels['cdktf-etcd-cluster.healthcheck'];
    expect(digest(s.labels)).toMatch(/^[0-9a-f]{16}$/);
    expect(digest(s.labels)).not.toBe(digest(p.labels));
  });

  test('the healthcheck label changes with the command and with any timing, and not otherwise', () => {
    const ctx = { name: 'app' } as Parameters<typeof labelsOf>[0];
    const digest = (h: Healthcheck) => labelsOf(ctx, 'secondary', h)['cdktf-etcd-cluster.healthcheck'];
    const base = healthcheckOf(['CMD', '/bin/check'], '5s');
    expect(digest(healthcheckOf(['CMD', '/bin/check'], '5s'))).toBe(digest(base));
    const variants: Healthcheck[] = [
      healthcheckOf(['CMD', '/bin/other'], '5s'),
      { ...base, interval: '30s' },
      { ...base, timeout: '4s' },
      { ...base, startPeriod: '20s' },
      { ...base, retries: 5 },
    ];
    const digests = [base, ...variants].map(digest);
    expect(new Set(digests).size).toBe(digests.length);
  });

  test('every flag of secondary 2 (grpc-proxy)', () => {
    const s = t.secondaries[1];
    expect(s.command).toEqual([
      '/usr/local/bin/etcd',
      'grpc-proxy',
      'start',
      '--endpoints=http://c1-primary-1:2379,http://c1-primary-2:2379,http://c1-primary-3:2379',
      '--listen-addr=0.0.0.0:2379',
      '--advertise-client-url=c1-secondary-2:2379',
      '--resolver-prefix=/cdktf-etcd-cluster/c1/secondaries',
      '--resolver-ttl=10',
    ]);
    expect(s.env).toEqual({});
    expect(s.port).toEqual({ internal: 2379, external: 22380, ip: '127.0.0.1' });
    expect(s.registers).toBe(true);
    expect(s.image).toBe(t.image);
  });

  test('primaries never mention secondaries', () => {
    for (const p of t.primaries) expect(JSON.stringify(p)).not.toContain('secondary');
  });

  test('expectation and membership', () => {
    const e = expectationOf(t);
    expect(e.target.primaries[0]).toEqual({
      name: 'c1-primary-1',
      index: 1,
      peerUrl: 'http://c1-primary-1:2380',
      clientUrl: 'http://c1-primary-1:2379',
      endpoint: 'http://127.0.0.1:12379',
      metrics: null,
      docker: null,
      volume: 'c1-primary-1-data',
    });
    expect(e.secondaries[1]).toEqual({
      name: 'c1-secondary-2',
      registrationKey: '/cdktf-etcd-cluster/c1/secondaries/c1-secondary-2:2379',
      endpoint: 'http://127.0.0.1:22380',
      metrics: null,
    });
    expect(membershipOf(e).split(',')).toHaveLength(5);
  });
});

describe('topology options', () => {
  test('the primaries do not change when secondaries change', () => {
    const a = topo({ name: 'c', secondaries: 2 });
    const b = topo({ name: 'c', secondaries: 7 });
    expect(b.primaries).toEqual(a.primaries);
    expect(b.secondaries.slice(0, 2)).toEqual(a.secondaries);
  });

  test('subnet gets an explicit gateway', () => {
    expect(topo({ name: 'c', network: { subnet: '172.30.5.0/24' } }).network).toEqual({
      name: 'c-net',
      subnet: '172.30.5.0/24',
      gateway: '172.30.5.1',
    });
  });

  test('a wildcard bind is verified through loopback', () => {
    const t = topo({ name: 'c', ports: { bindAddress: '0.0.0.0' } });
    expect(t.primaries[0].port.ip).toBe('0.0.0.0');
    expect(t.primaries[0].hostClientUrl).toBe('http://127.0.0.1:23791');
  });

  test('token and tuning flags', () => {
    const t = topo({ name: 'c', primaries: 1, token: 'tok-1', etcd: { heartbeatIntervalMs: 50, electionTimeoutMs: 500 } });
    expect(t.primaries[0].command).toEqual(expect.arrayContaining(['--initial-cluster-token=tok-1', '--heartbeat-interval=50', '--election-timeout=500']));
  });

  test('a custom secondary gets the endpoints, its own image and no registration by default', () => {
    const t = topo({
      name: 'app',
      secondaries: 1,
      secondary: {
        image: 'easegress:test',
        command: ['/bin/app', '--cluster={{endpoints}}', '--name={{name}}', '--prefix={{prefix}}', '--peers={{addresses}}'],
        env: { MODE: 'secondary' },
      },
    });
    const s = t.secondaries[0];
    expect(s.image).toBe('easegress:test');
    expect(t.secondaryImage).toBe('easegress:test');
    expect(s.command).toEqual([
      '/bin/app',
      '--cluster=http://app-primary-1:2379,http://app-primary-2:2379,http://app-primary-3:2379',
      '--name=app-secondary-1',
      '--prefix=/cdktf-etcd-cluster/app/secondaries',
      '--peers=app-primary-1:2379,app-primary-2:2379,app-primary-3:2379',
    ]);
    expect(s.env).toEqual({ ETCDCTL_ENDPOINTS: 'http://app-primary-1:2379,http://app-primary-2:2379,http://app-primary-3:2379', MODE: 'secondary' });
    expect(s.registers).toBe(false);
    expect(s.healthcheck).toBeUndefined();
    expect(expectationOf(t).secondaries[0].registrationKey).toBeNull();
  });

  test('with auth, proxies do not register (etcd 3.4 gives them no credentials) and the hook enables auth', () => {
    const t = topo({ name: 'a', secondaries: 1, auth: {} });
    expect(t.auth).toEqual({ passwordEnv: 'ETCD_ROOT_PASSWORD' });
    expect(t.secondaries[0].command.some((f) => f.startsWith('--resolver-'))).toBe(false);
    expect(t.secondaries[0].registers).toBe(false);
    const e = expectationOf(t);
    expect(e.target.auth).toEqual({ user: 'root', passwordEnv: 'ETCD_ROOT_PASSWORD' });
    expect(e.secondaries[0].registrationKey).toBeNull();
  });

  test.each([1, 3, 5, 7, 9])('%i primaries get distinct names and ports', (n) => {
    const t = topo({ name: 'c', primaries: n, secondaries: 3 });
    expect(new Set(t.primaries.map((p) => p.name)).size).toBe(n);
    const ports = [...t.primaries, ...t.secondaries].map((x) => x.port.external);
    expect(new Set(ports).size).toBe(n + 3);
  });
});

describe('replacing primaries', () => {
  test.each([
    [{ x: 1 }, 'replace.x: keys must be primary numbers 1 to 9 (got key "x")'],
    [{ '2': 0 }, 'replace.2: must be a whole generation number, 1 or more (got 0)'],
    [{ '4': 1 }, 'replace.4: primary 4 is not declared (primaries: 3)'],
    [[1], 'replace: must be a mapping (got [1])'],
  ])('bad replace %j is one line naming the field', (replace, message) => {
    expect(() => validateSpec({ name: 'r', replace })).toThrow(message);
  });

  test('a replaced primary joins with a new volume; the others are untouched', () => {
    const plain = topo({ name: 'r' });
    const t = topo({ name: 'r', replace: { '1': 3 } });
    expect(t.primaries[0]).toMatchObject({ joins: true, generation: 3, volume: 'r-primary-1-data-r3' });
    expect(t.primaries[0].command).toContain('--initial-cluster-state=existing');
    expect(t.primaries.slice(1)).toEqual(plain.primaries.slice(1));
  });
});
