/**
 * Issue 26: the provider's own schema. The stack runs kreuzwerker/docker 4.6.0 while its bindings
 * (@cdktf/provider-docker 12.0.3) were made for 3.6.2, so the bindings' types prove nothing about what 4.x
 * accepts. Representative stacks (1, 3 and 5 primaries, secondaries of both kinds, TLS, several Docker hosts,
 * backup, restore, metrics, resources, RBAC, joining and replaced primaries) are checked against the schema
 * that provider reports itself (`terraform providers schema -json` of the version in the local mirror):
 * every resource type, every argument and nested block, their types, item limits, required arguments and
 * `lifecycle.ignore_changes`, the provider configuration too. An argument 4.x removed or made read-only
 * (`check_duplicate` of docker_network, removed in 4.0) fails here instead of at a user's `terraform plan`. The
 * network itself is made by the network step (a terraform_data; issue 27), and read back with the
 * docker_network data source, whose arguments are checked the same way.
 * No Docker engine is used; it needs Terraform and the provider, like the other suites here.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdClusterProps } from '../../lib/model';
import { describeEngine } from '../harness/describe-engine';
import { checkStack, loadSchemas, type SchemaSet } from '../harness/provider-schema';
import { REPO_ROOT, scratchDir, synthStack, type TfJson } from '../helpers/synth';

jest.setTimeout(300_000);

/** The provider release the suites deploy with (scripts/provider-mirror.sh installs it). */
const PROVIDER = { source: 'kreuzwerker/docker', version: '4.6.0' };
const SNAPSHOT = join(__dirname, '..', 'fixtures', 'snapshot-rev51.db');
const HOSTS = [
  { name: 'a', docker: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'], address: '192.0.2.11' },
  { name: 'b', docker: 'tcp://192.0.2.12:2376', address: '192.0.2.12' },
  { name: 'c', docker: 'unix:///var/run/docker.sock', address: '192.0.2.13' },
];

/** Certificates for a TLS spec, made by the CLI as a user makes them (`etcd-cluster pki`). */
function pkiFor(props: EtcdClusterProps): EtcdClusterProps {
  const dir = scratchDir('schema-pki');
  const spec = join(dir, 'cluster.json');
  writeFileSync(spec, JSON.stringify({ ...props, tls: { dir: 'pki' } }));
  execFileSync(process.execPath, [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'pki', '--spec', spec], { stdio: 'pipe' });
  return { ...props, tls: { dir: join(dir, 'pki') } };
}

const SPECS: [string, () => EtcdClusterProps][] = [
  ['1 primary, nothing else', () => ({ name: 'one', primaries: 1 })],
  [
    '3 primaries and 2 proxies with metrics, resources, a subnet, extra flags, environment and scheduled backups',
    () => ({
      name: 'three',
      primaries: 3,
      secondaries: 2,
      network: { subnet: '10.214.250.0/24' },
      metrics: {},
      resources: { memoryMiB: 512, cpus: 1 },
      secondary: { resources: { memoryMiB: 128, cpus: 0.5 }, extraFlags: ['--debug'] },
      etcd: { extraFlags: ['--max-request-bytes=262144'], env: { GOMAXPROCS: '2' }, heartbeatIntervalMs: 200, electionTimeoutMs: 2000 },
      backup: { every: '30m', keep: 5 },
    }),
  ],
  [
    '5 primaries, two of them joining, one replaced, and RBAC',
    () => ({
      name: 'five',
      primaries: 5,
      initialPrimaries: 3,
      replace: { '2': 1 },
      secondaries: 3,
      auth: {},
    }),
  ],
  [
    'an application secondary with its own image',
    () => ({
      name: 'app',
      primaries: 3,
      secondaries: 2,
      secondary: { image: 'example/wallet:1.4', command: ['/app/wallet', '--etcd={{endpoints}}'], registers: false, env: { MODE: 'x' } },
    }),
  ],
  [
    'mutual TLS with metrics and backups to a host directory',
    () => pkiFor({ name: 'sec', primaries: 3, secondaries: 2, metrics: {}, backup: { hostPath: '/var/backups/etcd-sec' } }),
  ],
  ['three Docker hosts (ssh, tcp, unix) with TLS', () => pkiFor({ name: 'multi', primaries: 3, secondaries: 2, hosts: HOSTS })],
  ['restored from a snapshot', () => ({ name: 'rest', primaries: 3, secondaries: 1, restore: { snapshot: SNAPSHOT } })],
];

describeEngine(`the stacks we synthesize, against the schema ${PROVIDER.source} ${PROVIDER.version} reports itself`, () => {
  let schemas: SchemaSet;
  const stacks = new Map<string, TfJson>();

  beforeAll(async () => {
    schemas = await loadSchemas(scratchDir('provider-schema'), PROVIDER.source, PROVIDER.version);
    for (const [label, props] of SPECS) stacks.set(label, synthStack(props()));
  });

  test(`Terraform selected ${PROVIDER.version} from the local mirror, the version the stack's constraint admits`, () => {
    expect(schemas.version).toBe(PROVIDER.version);
    for (const tf of stacks.values()) {
      const wanted = (tf.terraform as { required_providers: Record<string, { source: string; version: string }> }).required_providers.docker;
      expect(wanted.source).toBe(PROVIDER.source);
      expect(wanted.version).toBe('>= 3.6.2, < 5.0.0');
    }
  });

  test.each(SPECS.map(([label]) => [label]))('%s: every resource, argument and block is one the provider accepts', (label) => {
    expect(checkStack(stacks.get(label)!, schemas)).toEqual([]);
  });

  test('together the stacks cover every resource type, data source and block we write', () => {
    const seen = new Set<string>();
    const walk = (value: unknown, path: string) => {
      if (Array.isArray(value)) value.forEach((v) => walk(v, path));
      else if (value && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) {
          if (k === '//') continue;
          seen.add(`${path}.${k}`);
          if (v && typeof v === 'object') walk(v, `${path}.${k}`);
        }
    };
    for (const tf of stacks.values()) {
      for (const [type, byName] of Object.entries(tf.resource)) for (const body of Object.values(byName)) walk(body, type);
      for (const [type, byName] of Object.entries((tf.data ?? {}) as Record<string, Record<string, unknown>>))
        for (const body of Object.values(byName)) walk(body, `data.${type}`);
    }
    expect(Object.keys(Object.assign({}, ...[...stacks.values()].map((tf) => tf.resource))).sort()).toEqual([
      'docker_container',
      'docker_image',
      'docker_volume',
      'terraform_data',
    ]);
    expect(Object.keys(Object.assign({}, ...[...stacks.values()].map((tf) => tf.data ?? {}))).sort()).toEqual(['docker_network']);
    // What the representative specs were chosen for: each of these reaches the provider in some stack.
    for (const path of [
      'docker_container.upload.source',
      'docker_container.ports.external',
      'docker_container.healthcheck.test',
      'docker_container.networks_advanced.aliases',
      'docker_container.volumes.volume_name',
      'docker_container.memory',
      'docker_container.cpus',
      'data.docker_network.name',
      'terraform_data.provisioner',
      'terraform_data.triggers_replace.subnet',
    ])
      expect([path, seen.has(path)]).toEqual([path, true]);
  });

  describe('the check fails on what a user would meet at plan', () => {
    const network = (tf: TfJson) => Object.values((tf.data as Record<string, Record<string, Record<string, unknown>>>).docker_network)[0];
    const container = (tf: TfJson) => Object.values(tf.resource.docker_container)[0];
    const broken = (edit: (tf: TfJson) => void) => {
      const tf = synthStack({ name: 'three', primaries: 3, secondaries: 2, network: { subnet: '10.214.250.0/24' } });
      edit(tf);
      return checkStack(tf, schemas);
    };

    test('check_duplicate of docker_network, an argument of 3.x that 4.0 removed', () => {
      const problems = broken((tf) => (network(tf).check_duplicate = true));
      expect(problems).toEqual([
        expect.stringMatching(
          /^data\.docker_network\.cluster_network_lookup_[0-9A-F]{8}: check_duplicate is not an argument of data source docker_network in kreuzwerker\/docker 4\.6\.0$/,
        ),
      ]);
    });

    test('an argument the provider computes, a wrong type, an unknown nested argument, a second healthcheck, a missing required argument', () => {
      const problems = broken((tf) => {
        const c = container(tf);
        c.exit_code = 0;
        c.memory = 'a lot';
        (c.ports as Record<string, unknown>[])[0].host_ip = '127.0.0.1';
        c.healthcheck = [c.healthcheck, c.healthcheck];
        delete c.image;
      });
      const at = /^docker_container\.cluster_primary-1_container_[0-9A-F]{8}/;
      expect(problems.map((p) => p.replace(at, 'C')).sort()).toEqual(
        [
          'C: exit_code is read-only in docker_container in kreuzwerker/docker 4.6.0 (the provider computes it)',
          'C.memory: expects number, got "a lot"',
          'C.ports: host_ip is not an argument of docker_container in kreuzwerker/docker 4.6.0',
          'C: healthcheck allows at most 1 block(s), got 2',
          'C: the required argument image of docker_container in kreuzwerker/docker 4.6.0 is missing',
        ].sort(),
      );
    });

    test('a resource type and a provider argument that do not exist, and ignore_changes on a missing attribute', () => {
      const problems = broken((tf) => {
        tf.resource.docker_swarm_thing = { x: {} };
        (tf.provider as { docker: Record<string, unknown>[] }).docker[0].api_version = '1.41';
        const hook = Object.values(tf.resource.terraform_data)[0];
        hook.lifecycle = { ignore_changes: ['inputs'] };
      });
      expect(problems).toHaveLength(3);
      expect(problems).toEqual(
        expect.arrayContaining([
          'docker_swarm_thing: not a resource type of kreuzwerker/docker 4.6.0 (nor built into Terraform)',
          'provider.docker[0]: api_version is not an argument of the provider configuration of kreuzwerker/docker 4.6.0',
          expect.stringMatching(/^terraform_data\.\S+: lifecycle\.ignore_changes names inputs, which terraform_data \(built into Terraform\) does not have$/),
        ]),
      );
    });
  });
});
