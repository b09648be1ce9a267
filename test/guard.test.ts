/**
 * Issue 37, without an engine: what a cluster's state guard looks for (the objects its stack declares), how the stack renders it (first, with everything that creates or adopts something after it, its
 * message out of the plan), and what a state is taken to know.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUARD_ENV, GUARD_KIND, parseGuard } from '../lib/contract/guard';
import { SynthesizedStack } from '../lib/contract/stack';
import { LABEL_CLUSTER } from '../lib/model';
import { stateKnows } from '../lib/runtime/guard';
import { scratchDir, synthStack, synthStackToDir } from './helpers/synth';

const HOSTS = [
  { name: 'a', docker: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'], address: '192.0.2.11' },
  { name: 'b', docker: 'tcp://192.0.2.12:2375', address: '192.0.2.12' },
  { name: 'c', docker: 'unix:///run/c.sock', address: '192.0.2.13' },
];
const SNAPSHOT = join(__dirname, 'fixtures', 'snapshot-rev51.db');
const PORTS = { ports: { primaryBase: 12379, secondaryBase: 22379 } };

test('the objects a cluster declares, read from its stack by its label: members, a restore, the backup and its volume, the network', () => {
  const dir = scratchDir('guard-objects');
  const tf = synthStackToDir(
    { name: 'g', primaries: 3, secondaries: 2, replace: { 2: 1 }, backup: { every: '1h' }, restore: { snapshot: SNAPSHOT }, ...PORTS },
    dir,
  );
  // A second cluster in the same stack is not this one's.
  const other = synthStack({ name: 'h', primaries: 1, ...PORTS, ports: { primaryBase: 13379, secondaryBase: 23379 } });
  for (const type of ['docker_container', 'docker_volume', 'terraform_data'])
    for (const [k, r] of Object.entries(other.resource[type])) tf.resource[type][`other_${k}`] = r;
  writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(tf));
  const objects = SynthesizedStack.read(dir).objectsLabelled(LABEL_CLUSTER, 'g');
  expect([...objects.containers].sort()).toEqual(
    ['g-backup', 'g-primary-1', 'g-primary-1-restore', 'g-primary-2', 'g-primary-3', 'g-primary-3-restore', 'g-secondary-1', 'g-secondary-2'].sort(),
  );
  expect([...objects.volumes].sort()).toEqual(['g-backups', 'g-primary-1-data', 'g-primary-2-data-r1', 'g-primary-3-data']);
  expect(objects.networks).toEqual(['g-net']);
});

describe('the guard in the stack', () => {
  const tf = synthStack({ name: 'g', primaries: 3, secondaries: 1, hosts: HOSTS, replace: { 1: 1 }, ...PORTS });
  const data = tf.resource.terraform_data as Record<string, { triggers_replace?: unknown; depends_on?: string[]; provisioner?: any[] }>;
  const [key, guard] = Object.entries(data).find(([k]) => k.endsWith('_guard'))!;
  const after = (r: { depends_on?: string[] } | undefined) => r?.depends_on ?? [];

  test('its state names only the cluster; its message, in the provisioner, every host and what it declares there', () => {
    expect(guard.triggers_replace).toEqual({ kind: GUARD_KIND, cluster: 'g' });
    const m = parseGuard(guard.provisioner![0]['local-exec'].environment[GUARD_ENV], GUARD_ENV);
    expect(m).toEqual({
      kind: GUARD_KIND,
      cluster: 'g',
      hosts: [
        { host: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'] },
        { host: 'tcp://192.0.2.12:2375', sshOpts: [] },
        { host: 'unix:///run/c.sock', sshOpts: [] },
      ],
    });
    // Scaling the secondaries changes nothing of the guard, not even its provisioner.
    const scaled = synthStack({ name: 'g', primaries: 3, secondaries: 7, hosts: HOSTS, replace: { 1: 1 }, ...PORTS });
    expect((scaled.resource.terraform_data as typeof data)[key]).toEqual(guard);
    expect(guard.provisioner![0]['local-exec'].command).toMatch(/ guard$/);
  });

  test('every network step, volume, join and the bootstrap record wait for it', () => {
    const guardRef = `terraform_data.${key}`;
    const waiting = [
      ...Object.entries(data).filter(([k]) => /_network_step|_bootstrap|_join$/.test(k)),
      ...Object.entries(tf.resource.docker_volume as Record<string, { depends_on?: string[] }>),
    ];
    expect(waiting.length).toBe(3 + 1 + 1 + 3);
    for (const [k, r] of waiting) expect([k, after(r)]).toEqual([k, expect.arrayContaining([guardRef])]);
  });
});

test('a state knows the cluster by any of its containers, volumes, network or hook records; a lost one by none', () => {
  const declared = { containers: ['g-primary-1'], volumes: ['g-primary-1-data'], networks: ['g-net'] };
  const knows = (...resources: { type: string; instances: { attributes: Record<string, unknown> }[] }[]) => stateKnows({ resources }, 'g', declared);
  const one = (type: string, attributes: Record<string, unknown>) => ({ type, instances: [{ attributes }] });
  expect(knows(one('docker_container', { name: 'g-primary-1' }))).toBe('its container g-primary-1');
  expect(knows(one('docker_volume', { name: 'g-primary-1-data' }))).toBe('its volume g-primary-1-data');
  expect(knows(one('docker_network', { name: 'g-net' }))).toBe('its network g-net');
  expect(knows(one('terraform_data', { triggers_replace: { value: { kind: 'cdktf-etcd-cluster/network', cluster: 'g', name: 'g-net' } } }))).toBe(
    'its network step (g-net)',
  );
  expect(knows(one('terraform_data', { input: { value: { kind: 'cdktf-etcd-cluster/member', target: { cluster: 'g' } } } }))).toBe('its member record');
  // A version-1 record (0.2.0) names the cluster at its top level.
  expect(knows(one('terraform_data', { input: { value: { kind: 'cdktf-etcd-cluster/expectation', cluster: 'g' } } }))).toBe('its expectation record');
  // What a lost state holds after a refused deploy: images, and the guard (tainted); another cluster's records.
  expect(
    knows(
      one('docker_image', { name: 'etcd:x' }),
      one('terraform_data', { triggers_replace: { value: { kind: GUARD_KIND, cluster: 'g' } } }),
      one('docker_container', { name: 'h-primary-1' }),
      one('terraform_data', { input: { value: { kind: 'cdktf-etcd-cluster/member', target: { cluster: 'h' } } } }),
    ),
  ).toBeUndefined();
  expect(stateKnows({}, 'g', declared)).toBeUndefined();
});
