/**
 * Production settings in the model and the JSON (issue 17): compaction and quota defaults, resources,
 * extra flags and environment (ours refused), metrics endpoints, discovery names.
 */
import { buildTopology, PRIMARY_FLAGS, PROXY_FLAGS, SpecError, validateSpec } from '../lib/model';
import { flagName } from '../lib/model/flags';
import { resourcesOf, synthStack } from './helpers/synth';

const topo = (props: Record<string, unknown>) => buildTopology(validateSpec({ name: 'p', ...props }));
const refusal = (props: Record<string, unknown>) => {
  try {
    validateSpec({ name: 'p', ...props });
  } catch (e) {
    if (e instanceof SpecError) return e.message;
    throw e;
  }
  return 'accepted';
};

describe('compaction and quota', () => {
  test('by default: periodic compaction keeping one hour, and an explicit 2 GiB quota', () => {
    expect(topo({}).primaries[0].command).toEqual(
      expect.arrayContaining(['--auto-compaction-mode=periodic', '--auto-compaction-retention=1h', '--quota-backend-bytes=2147483648']),
    );
  });

  test('revision mode keeps 10000 revisions unless told otherwise; off sets no compaction flag', () => {
    expect(topo({ etcd: { autoCompactionMode: 'revision' } }).primaries[0].command).toContain('--auto-compaction-retention=10000');
    expect(topo({ etcd: { autoCompactionMode: 'revision', autoCompactionRetention: '500' } }).primaries[0].command).toContain(
      '--auto-compaction-retention=500',
    );
    const off = topo({ etcd: { autoCompactionMode: 'off', quotaBackendBytes: 4194304 } }).primaries[0].command;
    expect(off.filter((f) => f.startsWith('--auto-compaction'))).toEqual([]);
    expect(off).toContain('--quota-backend-bytes=4194304');
  });

  test.each([
    [{ etcd: { autoCompactionMode: 'hourly' } }, 'etcd.autoCompactionMode: must be periodic, revision or off (got "hourly")'],
    [
      { etcd: { autoCompactionRetention: 'soon' } },
      'etcd.autoCompactionRetention: must be a duration like 1h or 30m with autoCompactionMode periodic (got "soon")',
    ],
    [
      { etcd: { autoCompactionMode: 'revision', autoCompactionRetention: '1h' } },
      'etcd.autoCompactionRetention: must be a number of revisions with autoCompactionMode revision (got "1h")',
    ],
    [
      { etcd: { autoCompactionMode: 'off', autoCompactionRetention: '1h' } },
      'etcd.autoCompactionRetention: only used with autoCompactionMode periodic or revision (got "1h" with off)',
    ],
    [{ etcd: { quotaBackendBytes: 1000 } }, 'etcd.quotaBackendBytes: must be at least 1048576 (1 MiB) (got 1000)'],
    [{ etcd: { quotaBackendBytes: 16 * 1024 ** 3 } }, 'etcd.quotaBackendBytes: must be at most 8589934592 (8 GiB, the most etcd suggests) (got 17179869184)'],
  ])('refused: %j', (props, message) => expect(refusal(props)).toBe(message));
});

describe('extra flags and environment', () => {
  test('unknown flags reach every primary verbatim, after ours; environment too', () => {
    const t = topo({ primaries: 3, etcd: { extraFlags: ['--max-request-bytes=65536', '--experimental-enable-lease-checkpoint'], env: { GOMAXPROCS: '1' } } });
    for (const p of t.primaries) {
      expect(p.command.slice(-2)).toEqual(['--max-request-bytes=65536', '--experimental-enable-lease-checkpoint']);
      expect(p.env).toEqual({ GOMAXPROCS: '1' });
    }
  });

  test('proxies get their extra flags', () => {
    expect(topo({ secondaries: 1, secondary: { extraFlags: ['--max-send-bytes=1024'] } }).secondaries[0].command.at(-1)).toBe('--max-send-bytes=1024');
  });

  test.each([
    [
      { etcd: { extraFlags: ['--name=other'] } },
      'etcd.extraFlags.0: --name is set by cdktf-etcd-cluster (the member name is its container name); remove it (got "--name=other")',
    ],
    [
      { etcd: { extraFlags: ['--log-level=debug', '--initial-cluster-token=x'] } },
      'etcd.extraFlags.1: --initial-cluster-token is set by cdktf-etcd-cluster (set token); remove it (got "--initial-cluster-token=x")',
    ],
    [
      { etcd: { extraFlags: ['--data-dir', '/tmp'] } },
      'etcd.extraFlags.0: --data-dir is set by cdktf-etcd-cluster (the data directory is on the member volume); remove it (got "--data-dir")',
    ],
    [
      { etcd: { extraFlags: ['--peer-cert-file=/x'] } },
      'etcd.extraFlags.0: --peer-cert-file is set by cdktf-etcd-cluster (TLS comes from tls.dir); remove it (got "--peer-cert-file=/x")',
    ],
    [
      { etcd: { extraFlags: ['--quota-backend-bytes=1'] } },
      'etcd.extraFlags.0: --quota-backend-bytes is set by cdktf-etcd-cluster (set etcd.quotaBackendBytes); remove it (got "--quota-backend-bytes=1")',
    ],
    [{ etcd: { extraFlags: ['-v'] } }, 'etcd.extraFlags.0: must be a flag like --name or --name=value (got "-v")'],
    [
      { etcd: { env: { ETCD_NAME: 'x' } } },
      'etcd.env.ETCD_NAME: shadows a flag that is set (etcd exits when a variable and its flag are both given); use the field or extraFlags instead',
    ],
    [
      { etcd: { extraFlags: ['--log-level=info'], env: { ETCD_LOG_LEVEL: 'debug' } } },
      'etcd.env.ETCD_LOG_LEVEL: shadows a flag that is set (etcd exits when a variable and its flag are both given); use the field or extraFlags instead',
    ],
    [
      { secondary: { extraFlags: ['--endpoints=x'] } },
      'secondary.extraFlags.0: --endpoints is set by cdktf-etcd-cluster (the proxy talks to every primary); remove it (got "--endpoints=x")',
    ],
    [
      { secondary: { command: ['app'], extraFlags: ['--x'] } },
      'secondary.extraFlags: only for the grpc-proxy; a custom secondary.command carries its own flags (got ["--x"])',
    ],
  ])('refused: %j', (props, message) => expect(refusal(props)).toBe(message));

  test('an ETCD_* variable of a flag nobody sets is passed on', () => {
    expect(refusal({ etcd: { env: { ETCD_LOG_LEVEL: 'debug' } } })).toBe('accepted');
  });

  test('every flag the topology sets is in the list of flags extraFlags may not set', () => {
    const t = topo({
      primaries: 3,
      secondaries: 1,
      tls: { dir: '/nonexistent' },
      metrics: {},
      etcd: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 },
    });
    const flags = (command: string[]) => command.filter((f) => f.startsWith('--')).map(flagName);
    for (const f of flags(t.primaries[2].command)) expect([f, PRIMARY_FLAGS[f] !== undefined]).toEqual([f, true]);
    for (const f of flags(t.secondaries[0].command)) expect([f, PROXY_FLAGS[f] !== undefined]).toEqual([f, true]);
  });
});

describe('resources', () => {
  test('memory (no swap beyond it) and CPUs reach the containers of primaries and secondaries', () => {
    const tf = synthStack({ name: 'r', primaries: 1, secondaries: 1, resources: { memoryMiB: 256, cpus: 0.5 }, secondary: { resources: { memoryMiB: 64 } } });
    const byName = Object.fromEntries([...resourcesOf(tf).values()].filter((r) => r.command).map((r) => [r.name, r]));
    expect([byName['r-primary-1'].memory, byName['r-primary-1'].memory_swap, byName['r-primary-1'].cpus]).toEqual([256, 256, '0.5']);
    expect([byName['r-secondary-1'].memory, byName['r-secondary-1'].memory_swap, byName['r-secondary-1'].cpus]).toEqual([64, 64, undefined]);
  });

  test.each([
    [{ resources: { memoryMiB: 2 } }, 'resources.memoryMiB: must be at least 6 (got 2)'],
    [{ resources: { cpus: 0 } }, 'resources.cpus: must be more than 0 (got 0)'],
    [{ resources: { cpus: 0.125 } }, 'resources.cpus: must have at most two decimals (got 0.125)'],
    [{ secondary: { resources: { memory: 64 } } }, 'secondary.resources.memory: unknown key (allowed: memoryMiB, cpus)'],
  ])('refused: %j', (props, message) => expect(refusal(props)).toBe(message));
});

describe('metrics and discovery names', () => {
  const t = topo({ primaries: 3, secondaries: 2, metrics: {} });

  test('each primary serves metrics on its own listener, published on 2381<i>; proxies on 25790+j', () => {
    expect(t.primaries.map((p) => p.hostMetricsUrl)).toEqual([
      'http://127.0.0.1:23811/metrics',
      'http://127.0.0.1:23812/metrics',
      'http://127.0.0.1:23813/metrics',
    ]);
    expect(t.primaries[0].command).toContain('--listen-metrics-urls=http://0.0.0.0:2381');
    expect(t.secondaries.map((s) => s.metricsPort)).toEqual([
      { internal: 2381, external: 25791, ip: '127.0.0.1' },
      { internal: 2381, external: 25792, ip: '127.0.0.1' },
    ]);
    expect(t.secondaries[0].command).toContain('--metrics-addr=http://0.0.0.0:2381');
  });

  test('without metrics in the spec, nothing is published for them', () => {
    const plain = topo({ primaries: 1, secondaries: 1 });
    expect([plain.primaries[0].metricsPort, plain.secondaries[0].metricsPort]).toEqual([undefined, undefined]);
  });

  test('a metrics port that clashes with a client port is refused', () => {
    expect(refusal({ primaries: 3, metrics: { primaryBase: 23792 } })).toBe(
      "metrics.primaryBase: 23792 clashes with the primaries' ports 23791-23793 (they need 23792-23794)",
    );
  });

  test("every member answers to its role's shared name on the network, and a custom secondary gets them as placeholders", () => {
    expect(t.primaries.map((p) => p.aliases)).toEqual([1, 2, 3].map((i) => [`p-primary-${i}`, 'p-primaries']));
    expect(t.secondaries.map((s) => s.aliases)).toEqual([1, 2].map((j) => [`p-secondary-${j}`, 'p-secondaries']));
    const app = topo({ secondaries: 1, secondary: { command: ['app', '--peers={{secondaries}}', '--store={{primaries}}'] } });
    expect(app.secondaries[0].command).toEqual(['app', '--peers=p-secondaries', '--store=p-primaries']);
  });
});
