/**
 * Issue 8 without an engine: hosts and placement in the spec, the topology across hosts, and what the
 * stack synthesizes for them (one aliased provider per host, every Docker resource bound to its host's).
 */
import { Testing, TerraformStack } from 'cdktf';
import { EtcdCluster } from '../constructs/etcd-cluster';
import { validateSpec } from '../lib/model';
import { buildTopology, memberOpOf } from '../lib/model';
import { EtcdClusterStack } from '../stacks/etcd-cluster-stack';
import { resourcesOf, synthStack } from './helpers/synth';

const HOSTS = [
  { name: 'a', docker: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'], address: '192.0.2.11' },
  { name: 'b', docker: 'ssh://ops@192.0.2.12', address: '192.0.2.12' },
  { name: 'c', docker: 'unix:///run/c.sock', address: '192.0.2.13' },
];
const topo = (props: Record<string, unknown>) => buildTopology(validateSpec({ name: 'm', ...props }));

describe('hosts and placement are validated with one line naming the field and value', () => {
  test.each([
    [
      'an unknown host in a placement',
      { primaries: 3, hosts: HOSTS, placement: { primaries: ['a', 'b', 'x'] } },
      'placement.primaries.2: unknown host "x" (hosts: a, b, c)',
    ],
    ['an unknown host for secondaries', { hosts: HOSTS, placement: { secondaries: ['d'] } }, 'placement.secondaries.0: unknown host "d" (hosts: a, b, c)'],
    [
      'two hosts with one address',
      { primaries: 1, hosts: [HOSTS[0], { ...HOSTS[1], address: '192.0.2.11' }] },
      'hosts.1.address: 192.0.2.11 is also the address of host "a"',
    ],
    ['duplicate host names', { primaries: 1, hosts: [HOSTS[0], { ...HOSTS[1], name: 'a' }] }, 'hosts.1.name: duplicate host name "a" (also hosts.0)'],
    [
      'fewer hosts than the spread',
      { primaries: 5, hosts: HOSTS },
      'hosts: 3 hosts cannot hold 5 primaries one per host; add hosts, or place the primaries explicitly with placement.primaries',
    ],
    [
      'a placement of the wrong length',
      { primaries: 3, hosts: HOSTS, placement: { primaries: ['a', 'b'] } },
      'placement.primaries: lists 2 hosts for 3 primaries (got ["a","b"])',
    ],
    ['a placement without hosts', { placement: { primaries: ['a'] } }, 'placement: needs hosts (list the Docker hosts under hosts)'],
    [
      'a bind address with hosts',
      { hosts: HOSTS, ports: { bindAddress: '0.0.0.0' } },
      'ports.bindAddress: not used with hosts; each host publishes on its own address (got "0.0.0.0")',
    ],
    [
      'a peer port base without hosts',
      { ports: { peerBase: 2480 } },
      'ports.peerBase: only used with hosts; a single host never publishes peer ports (got 2480)',
    ],
    [
      'a docker address that is not one',
      { hosts: [{ ...HOSTS[0], docker: '192.0.2.11' }], primaries: 1 },
      'hosts.0.docker: must be a Docker host: unix:///path, tcp://host:port or ssh://user@host (got "192.0.2.11")',
    ],
    ['a host without an address', { hosts: [{ name: 'a', docker: 'unix:///x' }], primaries: 1 }, 'hosts.0.address: is required'],
    [
      'founders above primaries across hosts',
      { primaries: 1, initialPrimaries: 3, hosts: HOSTS },
      "initialPrimaries: 3 is more than primaries (1); with hosts a founder's address comes from its placement, so primaries cannot go below initialPrimaries",
    ],
    [
      'two primaries on one host with clashing peer ports',
      { primaries: 3, hosts: HOSTS, placement: { primaries: ['a', 'a', 'b'] } },
      "ports.peerBase: 2380 clashes with the primaries' ports 2379-2380 on host a (they need 2380-2381)",
    ],
  ])('%s', (_case, props, message) => {
    expect(() => validateSpec({ name: 'm', ...props })).toThrow(message);
    let caught: Error | undefined;
    try {
      validateSpec({ name: 'm', ...props });
    } catch (e) {
      caught = e as Error;
    }
    expect(caught?.message).toBe(message);
  });
});

describe('topology across hosts', () => {
  test('one primary per host, reached at the host address on etcd’s own ports; secondaries round-robin', () => {
    const t = topo({ primaries: 3, secondaries: 4, hosts: HOSTS });
    expect(t.primaries.map((p) => [p.host, p.peerUrl, p.clientUrl, p.hostClientUrl])).toEqual([
      ['a', 'http://192.0.2.11:2380', 'http://192.0.2.11:2379', 'http://192.0.2.11:2379'],
      ['b', 'http://192.0.2.12:2380', 'http://192.0.2.12:2379', 'http://192.0.2.12:2379'],
      ['c', 'http://192.0.2.13:2380', 'http://192.0.2.13:2379', 'http://192.0.2.13:2379'],
    ]);
    expect(t.primaries[0].peerPort).toEqual({ internal: 2380, external: 2380, ip: '192.0.2.11' });
    expect(t.primaries[0].command).toContain(
      '--initial-cluster=m-primary-1=http://192.0.2.11:2380,m-primary-2=http://192.0.2.12:2380,m-primary-3=http://192.0.2.13:2380',
    );
    expect(t.secondaries.map((s) => [s.host, s.advertiseAddress])).toEqual([
      ['a', '192.0.2.11:24791'],
      ['b', '192.0.2.12:24791'],
      ['c', '192.0.2.13:24791'],
      ['a', '192.0.2.11:24792'],
    ]);
    expect(t.secondaries[0].command).toContain('--endpoints=http://192.0.2.11:2379,http://192.0.2.12:2379,http://192.0.2.13:2379');
  });

  test('an explicit placement counts ports per host', () => {
    const t = topo({ primaries: 3, hosts: HOSTS.slice(0, 2), placement: { primaries: ['a', 'b', 'a'] }, ports: { peerBase: 2480 } });
    expect(t.primaries.map((p) => [p.host, p.port.external, p.peerPort?.external])).toEqual([
      ['a', 2379, 2480],
      ['b', 2379, 2480],
      ['a', 2380, 2481],
    ]);
  });

  test("membership hooks check volumes on the member's own host", () => {
    const t = topo({ primaries: 3, initialPrimaries: 1, hosts: HOSTS });
    expect(memberOpOf(t, t.primaries[1]).target.primaries.map((p) => p.docker)).toEqual([
      { host: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'] },
      { host: 'ssh://ops@192.0.2.12', sshOpts: [] },
    ]);
    expect(memberOpOf(t, t.primaries[0]).target.primaries.map((p) => p.docker)).toEqual([
      { host: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'] },
    ]);
  });

  test('certificates must cover each member’s host address', () => {
    const t = topo({ primaries: 3, secondaries: 1, hosts: HOSTS, tls: { dir: '/tmp/pki' } });
    expect(t.tls!.nodes).toEqual([
      { name: 'm-primary-1', ips: ['192.0.2.11'] },
      { name: 'm-primary-2', ips: ['192.0.2.12'] },
      { name: 'm-primary-3', ips: ['192.0.2.13'] },
      { name: 'm-secondary-1', ips: ['192.0.2.11'] },
    ]);
  });
});

describe('synthesis across hosts', () => {
  const tf = synthStack({ name: 'm', primaries: 3, secondaries: 2, hosts: HOSTS });
  const resources = resourcesOf(tf);

  test('one aliased Docker provider per host, with its host and ssh options', () => {
    expect(tf.provider).toEqual({
      docker: [
        { alias: 'a', host: 'ssh://ops@192.0.2.11', ssh_opts: ['-o', 'ConnectTimeout=5'] },
        { alias: 'b', host: 'ssh://ops@192.0.2.12' },
        { alias: 'c', host: 'unix:///run/c.sock' },
      ],
    });
  });

  test('every host gets its network and image; every member is bound to its host’s provider', () => {
    const providerOf = (prefix: string) => [...resources.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v.provider);
    for (const h of ['a', 'b', 'c']) {
      const lookup = Object.entries((tf.data as { docker_network: Record<string, { provider: string }> }).docker_network);
      expect(lookup.filter(([k]) => k.startsWith(`cluster_host-${h}_network_lookup`)).map(([, v]) => v.provider)).toEqual([`docker.${h}`]);
      expect(providerOf(`docker_image.cluster_host-${h}_image`)).toEqual([`docker.${h}`]);
    }
    expect(providerOf('docker_container.cluster_primary-2_container')).toEqual(['docker.b']);
    expect(providerOf('docker_volume.cluster_primary-3_data')).toEqual(['docker.c']);
    expect(providerOf('docker_container.cluster_secondary-2_container')).toEqual(['docker.b']);
    const p2 = [...resources.entries()].find(([k]) => k.startsWith('docker_container.cluster_primary-2_container'))![1];
    expect(p2.ports).toEqual([
      { internal: 2379, external: 2379, ip: '192.0.2.12', protocol: 'tcp' },
      { internal: 2380, external: 2380, ip: '192.0.2.12', protocol: 'tcp' },
    ]);
    // Each container uses its own host's image and network.
    expect(p2.image).toMatch(/^\$\{docker_image\.cluster_host-b_image_[0-9A-F]+\.image_id\}$/);
  });

  test('no default provider and no top-level network or image', () => {
    expect([...resources.keys()].filter((k) => /cluster_(network|image)_/.test(k))).toEqual([]);
  });

  test('a stack docker host next to hosts is refused', () => {
    expect(() => new EtcdClusterStack(Testing.app(), { cluster: { name: 'm', hosts: HOSTS }, dockerHost: 'unix:///x' })).toThrow(
      'dockerHost: not used with hosts; give each host its docker address (got "unix:///x")',
    );
  });

  test('hosts without TLS synthesize with a warning', () => {
    const stack = new TerraformStack(Testing.app(), 'w');
    const cluster = new EtcdCluster(stack, 'cluster', { name: 'w', hosts: HOSTS });
    expect(cluster.node.metadata.filter((m) => m.type === '@cdktf/warn').map((w) => w.data)).toEqual([
      expect.stringMatching(/^hosts: members publish client and peer ports/),
    ]);
  });
});
