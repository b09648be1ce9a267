import { TerraformStack, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { Image } from '@cdktf/provider-docker/lib/image';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { EtcdCluster } from '../constructs/etcd-cluster';
import { SpecError } from '../lib/model';
import { resourcesOf, synthStack, type TfJson } from './helpers/synth';

const BASE = { ports: { primaryBase: 12379, secondaryBase: 22379 } };

describe('snapshots of the synthesized stack', () => {
  test.each([
    [1, 0],
    [1, 2],
    [3, 0],
    [3, 2],
    [5, 0],
    [5, 2],
  ])('%i primaries, %i secondaries', (primaries, secondaries) => {
    expect(synthStack({ name: 'snap', primaries, secondaries, image: 'etcd:snapshot', ...BASE })).toMatchSnapshot();
  });
});

describe('synthesized resources', () => {
  const tf = synthStack({ name: 'c', primaries: 3, secondaries: 2, ...BASE });
  const all = resourcesOf(tf);
  const ofType = (type: string) => [...all.entries()].filter(([k]) => k.startsWith(`${type}.`)).map(([, v]) => v);

  test('one network, one image, three volumes, five containers, one hook', () => {
    // The network is made by the cluster's own step and read through the provider's data source.
    expect(ofType('docker_network')).toHaveLength(0);
    expect(Object.keys((tf.data as { docker_network: object }).docker_network)).toHaveLength(1);
    expect(ofType('docker_image')).toHaveLength(1);
    expect(ofType('docker_volume').map((v) => v.name)).toEqual(['c-primary-1-data', 'c-primary-2-data', 'c-primary-3-data']);
    expect(
      ofType('docker_container')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['c-primary-1', 'c-primary-2', 'c-primary-3', 'c-secondary-1', 'c-secondary-2'].sort());
    // The verification hook, the bootstrap record, one membership record per primary, the network's step and
    // ID, the state guard.
    expect(ofType('terraform_data')).toHaveLength(1 + 1 + 3 + 2 + 1);
  });

  test('construct IDs give stable Terraform addresses', () => {
    expect([...all.keys()].map((k) => k.replace(/_[0-9A-F]{8}$/, '')).sort()).toEqual(
      [
        'docker_container.cluster_primary-1_container',
        'docker_container.cluster_primary-2_container',
        'docker_container.cluster_primary-3_container',
        'docker_container.cluster_secondary-1_container',
        'docker_container.cluster_secondary-2_container',
        'docker_image.cluster_image',
        'docker_volume.cluster_primary-1_data',
        'docker_volume.cluster_primary-2_data',
        'docker_volume.cluster_primary-3_data',
        'terraform_data.cluster_bootstrap',
        'terraform_data.cluster_guard',
        'terraform_data.cluster_network_id',
        'terraform_data.cluster_network_step',
        'terraform_data.cluster_primary-1_member',
        'terraform_data.cluster_primary-2_member',
        'terraform_data.cluster_primary-3_member',
        'terraform_data.cluster_verify_hook',
      ].sort(),
    );
  });

  test('image is kept locally; containers use its id', () => {
    expect(JSON.stringify(tf)).toHaveResourceWithProperties(Image, { keep_locally: true });
    for (const c of ofType('docker_container')) expect(c.image).toMatch(/^\$\{docker_image\.cluster_image_[0-9A-F]+\.image_id\}$/);
  });

  test('primary containers: restart policy, volume, loopback client port, never the peer port', () => {
    for (const c of ofType('docker_container').filter((c) => String(c.name).includes('primary'))) {
      expect(c.restart).toBe('unless-stopped');
      expect(c.ports).toEqual([{ internal: 2379, external: expect.any(Number), ip: '127.0.0.1', protocol: 'tcp' }]);
      expect((c.ports as { internal: number }[]).some((p) => p.internal === 2380)).toBe(false);
      expect(c.volumes).toEqual([{ container_path: '/var/lib/etcd', volume_name: expect.stringMatching(/^\$\{docker_volume\./) }]);
      expect(c.env).toBeUndefined();
      expect((c.healthcheck as { test: string[] }).test[0]).toBe('CMD');
    }
  });

  test('the hook depends on every member and carries the expectation; replacing it first runs the upgrade check', () => {
    const hook = all.get([...all.keys()].find((k) => k.startsWith('terraform_data.cluster_verify'))!)!;
    expect((hook.depends_on as string[]).sort()).toEqual([
      'docker_container.cluster_secondary-1_container_63642251',
      'docker_container.cluster_secondary-2_container_8E8626A4',
      'terraform_data.cluster_primary-1_member',
      'terraform_data.cluster_primary-2_member',
      'terraform_data.cluster_primary-3_member',
    ]);
    expect((hook.input as { target: { cluster: string } }).target.cluster).toBe('c');
    expect(hook.provisioner).toEqual([
      {
        'local-exec': {
          command: `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))' verify --timeout 60`,
          environment: { ETCD_CLUSTER_EXPECTED: '${jsonencode(self.input)}' },
        },
      },
      {
        // Terraform destroys a resource's dependents first: this runs before any member's container is replaced.
        'local-exec': {
          when: 'destroy',
          command: `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))' upgrade-check`,
          environment: { ETCD_CLUSTER_EXPECTED: '${jsonencode(self.input)}' },
        },
      },
    ]);
    const triggers = (hook.lifecycle as { replace_triggered_by: string[] }).replace_triggered_by.map((a) => a.replace(/_[0-9A-F]{8}$/, ''));
    expect(triggers).toEqual(expect.arrayContaining(['docker_container.cluster_primary-1_container', 'docker_container.cluster_primary-3_container']));
  });

  test('with auth, the hook enables authentication first and no password is synthesized', () => {
    const r = resourcesOf(synthStack({ name: 'c', auth: { passwordEnv: 'MY_ROOT_PW' } }));
    const [hook] = [...r.entries()].filter(([k]) => k.startsWith('terraform_data.cluster_verify')).map(([, v]) => v);
    expect((hook.provisioner as { 'local-exec': { command: string } }[])[0]['local-exec'].command).toBe(
      `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))' verify --enable-auth --timeout 60`,
    );
    expect((hook.input as { target: { auth: unknown } }).target.auth).toEqual({ user: 'root', passwordEnv: 'MY_ROOT_PW' });
  });

  test('auth without TLS warns that passwords travel in plaintext', () => {
    const stack = new TerraformStack(Testing.app(), 'w');
    const cluster = new EtcdCluster(stack, 'cluster', { name: 'w', auth: {} });
    expect(cluster.node.metadata.map((m) => m.data)).toContain('auth: passwords and tokens travel in plaintext without TLS (set tls.dir)');
  });

  test('the verify hook can be turned off', () => {
    const off = resourcesOf(synthStack({ name: 'c', verify: { enabled: false } }));
    expect([...off.keys()].some((k) => k.startsWith('terraform_data.cluster_verify'))).toBe(false);
  });

  test('a subnet comes with an explicit gateway', () => {
    const net = resourcesOf(synthStack({ name: 'c', network: { subnet: '172.29.3.0/24' } }));
    const [step] = [...net.entries()].filter(([k]) => k.startsWith('terraform_data.cluster_network_step')).map(([, v]) => v);
    expect(step.triggers_replace).toMatchObject({ subnet: '172.29.3.0/24', gateway: '172.29.3.1' });
  });

  test('a custom secondary image is its own resource, present even with no secondaries', () => {
    const r = resourcesOf(synthStack({ name: 'c', secondaries: 0, secondary: { image: 'app:1', command: ['/app'] } }));
    expect(
      [...r.keys()]
        .filter((k) => k.startsWith('docker_image.'))
        .map((k) => k.replace(/_[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual(['docker_image.cluster_image', 'docker_image.cluster_secondary-image']);
  });

  test('the provider takes the docker host', () => {
    const withHost = synthStack({ name: 'c' }, 'unix:///run/other.sock');
    expect(withHost.provider).toEqual({ docker: [{ host: 'unix:///run/other.sock' }] });
  });
});

describe('membership of primaries', () => {
  test('joiners above initialPrimaries start with state existing and a join hook; founders keep their flags', () => {
    const three = resourcesOf(synthStack({ name: 'g', primaries: 3 }));
    const five = resourcesOf(synthStack({ name: 'g', primaries: 5, initialPrimaries: 3 }));
    for (const [k, v] of three) if (/primary-[123]_(container|data|member)/.test(k)) expect(JSON.stringify(five.get(k))).toBe(JSON.stringify(v));
    const p4 = [...five.entries()].find(([k]) => k.startsWith('docker_container.cluster_primary-4'))![1];
    expect(p4.command).toEqual(
      expect.arrayContaining([
        '--initial-cluster-state=existing',
        '--initial-cluster=g-primary-1=http://g-primary-1:2380,g-primary-2=http://g-primary-2:2380,g-primary-3=http://g-primary-3:2380,g-primary-4=http://g-primary-4:2380',
      ]),
    );
    expect(p4.depends_on).toEqual(['terraform_data.cluster_primary-4_join']);
    // After every earlier member's promotion (not only the one before: a recovery from primary 2 rejoins
    // 1 and 3, and 3 must wait for 1) and every earlier primary's container.
    const containers = (n: number) =>
      [...five.keys()].filter((k) => /^docker_container\.cluster_primary-\d_container/.test(k) && Number(k.split('-')[1][0]) <= n).sort();
    const members = (n: number) => Array.from({ length: n }, (_, i) => `terraform_data.cluster_primary-${i + 1}_member`);
    expect([...(five.get('terraform_data.cluster_primary-4_join')!.depends_on as string[])].sort()).toEqual(
      [...containers(3), ...members(3), 'terraform_data.cluster_guard'].sort(),
    );
    expect([...(five.get('terraform_data.cluster_primary-5_join')!.depends_on as string[])].sort()).toEqual(
      [...containers(4), ...members(4), 'terraform_data.cluster_guard'].sort(),
    );
    expect((five.get('terraform_data.cluster_primary-4_member')!.provisioner as object[])[0]).toEqual({
      'local-exec': {
        command: `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))' member promote --timeout 60`,
        environment: { ETCD_CLUSTER_MEMBER: '${jsonencode(self.input)}' },
      },
    });
  });

  test('replacing a founder: a join hook, a fresh volume after it, state existing with every primary, hooks replaced per generation', () => {
    const before = resourcesOf(synthStack({ name: 'g', primaries: 3 }));
    const after = resourcesOf(synthStack({ name: 'g', primaries: 3, replace: { '2': 1 } }));
    // The other primaries do not move. Primary 1's record lists primaries 1..1 and stays; primary 3's lists
    // 1..3 and learns primary 2's new volume (an update of a terraform_data in place, no provisioner runs).
    for (const [k, v] of before) if (/primary-[13]_(container|data)|primary-1_member/.test(k)) expect(JSON.stringify(after.get(k))).toBe(JSON.stringify(v));
    const record3 = (r: typeof before) => r.get('terraform_data.cluster_primary-3_member')!.input as { target: { primaries: { volume: string }[] } };
    const moved = record3(before);
    moved.target.primaries[1].volume = 'g-primary-2-data-r1';
    expect(record3(after)).toEqual(moved);
    const get = (prefix: string) => [...after.entries()].find(([k]) => k.startsWith(prefix))![1];
    expect(get('docker_volume.cluster_primary-2_data')).toMatchObject({
      name: 'g-primary-2-data-r1',
      depends_on: ['terraform_data.cluster_primary-2_join', 'terraform_data.cluster_guard'],
    });
    expect(get('docker_container.cluster_primary-2_container').command).toEqual(
      expect.arrayContaining([
        '--initial-cluster-state=existing',
        '--initial-cluster=g-primary-1=http://g-primary-1:2380,g-primary-2=http://g-primary-2:2380,g-primary-3=http://g-primary-3:2380',
      ]),
    );
    const join = after.get('terraform_data.cluster_primary-2_join')!;
    expect(join.triggers_replace).toEqual({ generation: 1 });
    const input = join.input as { member: string; replaces: boolean; target: { primaries: { name: string; volume: string; endpoint: string }[] } };
    expect(input).toMatchObject({ member: 'g-primary-2', replaces: true });
    expect(input.target.primaries.map((p) => [p.name, p.volume, p.endpoint])).toEqual([
      ['g-primary-1', 'g-primary-1-data', 'http://127.0.0.1:23791'],
      ['g-primary-2', 'g-primary-2-data-r1', 'http://127.0.0.1:23792'],
      ['g-primary-3', 'g-primary-3-data', 'http://127.0.0.1:23793'],
    ]);
    expect(after.get('terraform_data.cluster_primary-2_member')!.triggers_replace).toEqual({ generation: 1 });
    expect(before.get('terraform_data.cluster_primary-2_member')!.triggers_replace).toBeUndefined();
    const again = resourcesOf(synthStack({ name: 'g', primaries: 3, replace: { '2': 2 } }));
    expect(again.get('terraform_data.cluster_primary-2_join')!.triggers_replace).toEqual({ generation: 2 });
    expect([...again.entries()].find(([k]) => k.startsWith('docker_volume.cluster_primary-2_data'))![1].name).toBe('g-primary-2-data-r2');
  });

  test('the bootstrap record keeps the first --initial-cluster and fails the plan when a spec would bootstrap another', () => {
    const boot = (props: Parameters<typeof synthStack>[0]) =>
      [...resourcesOf(synthStack(props)).entries()].find(([k]) => k.startsWith('terraform_data.cluster_bootstrap'))![1];
    const three = boot({ name: 'g', primaries: 3 });
    const ic = 'g-primary-1=http://g-primary-1:2380,g-primary-2=http://g-primary-2:2380,g-primary-3=http://g-primary-3:2380';
    expect(three.input).toEqual({ initialCluster: ic });
    expect(three.lifecycle).toMatchObject({ ignore_changes: ['input'], postcondition: [{ condition: `\${self.output.initialCluster == "${ic}"}` }] });
    // Growing with initialPrimaries, replacing, and shrinking below the founders keep it byte-identical.
    expect(boot({ name: 'g', primaries: 5, initialPrimaries: 3 })).toEqual(three);
    expect(boot({ name: 'g', primaries: 3, replace: { '1': 1 } })).toEqual(three);
    expect(boot({ name: 'g', primaries: 1, initialPrimaries: 3 })).toEqual(three);
    // Forgetting initialPrimaries changes it: the recorded value then fails the postcondition at plan time.
    expect(boot({ name: 'g', primaries: 5 })).not.toEqual(three);
  });

  test('shrinking below the founders keeps the remaining founders byte-identical', () => {
    const three = resourcesOf(synthStack({ name: 'g', primaries: 3 }));
    const one = resourcesOf(synthStack({ name: 'g', primaries: 1, initialPrimaries: 3 }));
    for (const [k, v] of one) if (/primary-1_(container|data)/.test(k)) expect(JSON.stringify(v)).toBe(JSON.stringify(three.get(k)));
  });

  test('every absent primary number has a removed block that runs member remove', () => {
    const tf = synthStack({ name: 'g', primaries: 3 }) as unknown as { removed: { from: string; provisioner: object[] }[] };
    expect(tf.removed.map((r) => r.from).filter((a) => a.startsWith('terraform_data.'))).toEqual(
      [4, 5, 6, 7, 8, 9].map((i) => `terraform_data.cluster_primary-${i}_member`),
    );
    expect(tf.removed[0].provisioner).toEqual([
      {
        'local-exec': {
          command: `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))' member remove`,
          environment: { ETCD_CLUSTER_MEMBER: '${jsonencode(self.input)}' },
          when: 'destroy',
        },
      },
    ]);
  });
});

describe('primary count rules', () => {
  test.each([7, 9])('%i primaries synthesize with a warning', (n) => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'w');
    const cluster = new EtcdCluster(stack, 'cluster', { name: 'w', primaries: n });
    const warnings = cluster.node.metadata.filter((m) => m.type === '@cdktf/warn');
    expect(warnings.map((w) => w.data)).toEqual([expect.stringContaining(`primaries: ${n} voters tolerate ${(n - 1) / 2} failures`)]);
  });

  test.each([5, 3, 1])('%i primaries synthesize without a warning', (n) => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'w');
    const cluster = new EtcdCluster(stack, 'cluster', { name: 'w', primaries: n });
    expect(cluster.node.metadata.filter((m) => /warn/.test(m.type))).toEqual([]);
  });

  test('props get the same validation as spec files', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'w');
    expect(() => new EtcdCluster(stack, 'cluster', { name: 'w', primaries: 4 })).toThrow(SpecError);
    expect(() => new EtcdCluster(stack, 'cluster2', { name: 'w', primaries: 4 })).toThrow(
      'primaries: an even count can split the vote into equal halves and tolerates 1 failure, as 3 do; use 1, 3, 5, 7 or 9 (got 4)',
    );
  });
});

describe("the cluster's network: made by its own step, read through the data source", () => {
  const tf = synthStack({ name: 'n', primaries: 3, secondaries: 1, network: { subnet: '172.29.4.0/24' }, backup: {}, ...BASE }) as TfJson & {
    data: { docker_network: Record<string, Record<string, unknown>> };
    removed: { from: string; lifecycle: object }[];
  };
  const all = resourcesOf(tf);
  const one = (prefix: string) =>
    [...all.entries()].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => ({ ...v, address: k }) as Record<string, unknown> & { address: string });
  const [step] = one('terraform_data.cluster_network_step_');
  const [record] = one('terraform_data.cluster_network_id_');
  const [lookupAddress, lookup] = Object.entries(tf.data.docker_network)[0];
  const cli = `node -e 'require("cdktf-etcd-cluster/cli").main(process.argv.slice(1))'`;

  test('everything that defines the network replaces the step; the Docker host is only in its environment', () => {
    expect(step.triggers_replace).toEqual({
      kind: 'cdktf-etcd-cluster/network',
      cluster: 'n',
      name: 'n-net',
      driver: 'bridge',
      labels: { 'cdktf-etcd-cluster.cluster': 'n' },
      subnet: '172.29.4.0/24',
      gateway: '172.29.4.1',
    });
    expect(step.input).toBeUndefined();
    const environment = { ETCD_CLUSTER_NETWORK: '${jsonencode(self.triggers_replace)}', ETCD_CLUSTER_NETWORK_DOCKER: '' };
    expect(step.provisioner).toEqual([
      { 'local-exec': { command: `${cli} network create`, environment } },
      { 'local-exec': { command: `${cli} network remove`, environment, when: 'destroy' } },
    ]);
  });

  test('the data source reads the network after the step; the record holds its ID', () => {
    expect(lookupAddress).toMatch(/^cluster_network_lookup_[0-9A-F]{8}$/);
    expect(lookup).toEqual({ name: 'n-net', depends_on: [step.address] });
    expect(record.input).toEqual({ id: `\${data.docker_network.${lookupAddress}.id}` });
  });

  test('every container names the network by ID and is replaced when the recorded ID changes', () => {
    const containers = one('docker_container.');
    expect(containers.map((c) => String(c.name)).sort()).toEqual(['n-backup', 'n-primary-1', 'n-primary-2', 'n-primary-3', 'n-secondary-1']);
    for (const c of containers) {
      expect((c.networks_advanced as { name: string }[]).map((n) => n.name)).toEqual([`\${data.docker_network.${lookupAddress}.id}`]);
      expect(c.lifecycle).toMatchObject({ ignore_changes: ['networks_advanced'], replace_triggered_by: [record.address] });
    }
  });

  test("the provider's resource of earlier versions is forgotten, never destroyed", () => {
    // The address the provider's resource had at cluster/network (the snapshots of earlier versions hold it).
    expect(tf.removed.filter((r) => r.from.startsWith('docker_network.'))).toEqual([
      { from: 'docker_network.cluster_network_D70B2823', lifecycle: { destroy: false } },
    ]);
  });

  test("the step reaches the stack provider's Docker host, with its ssh options", () => {
    const stack = new TerraformStack(Testing.app(), 'w');
    new EtcdCluster(stack, 'cluster', { name: 'w' });
    // Declared after the cluster: read when the stack is synthesized.
    new DockerProvider(stack, 'docker', { host: 'ssh://ops@192.0.2.7', sshOpts: ['-o', 'ConnectTimeout=5'] });
    const r = resourcesOf(JSON.parse(Testing.synth(stack, true)) as TfJson);
    const [s] = [...r.entries()].filter(([k]) => k.startsWith('terraform_data.cluster_network_step')).map(([, v]) => v);
    for (const p of s.provisioner as { 'local-exec': { environment: Record<string, string> } }[]) {
      expect(JSON.parse(p['local-exec'].environment.ETCD_CLUSTER_NETWORK_DOCKER)).toEqual({ host: 'ssh://ops@192.0.2.7', sshOpts: ['-o', 'ConnectTimeout=5'] });
    }
  });
});
