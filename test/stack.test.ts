/**
 * Clusters in a user's own stack: several of them, nested in the user's constructs, each with its own
 * membership addresses and `removed` blocks; clashing names and ports refused at synth with one line; the
 * Terraform version the JSON needs; the outputs another stack reads.
 */
import { Testing, TerraformStack } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Construct } from 'constructs';
import { EtcdCluster, REQUIRED_TERRAFORM } from '../constructs/etcd-cluster';
import { SpecError, type EtcdClusterProps } from '../lib/model';
import { synthStack, type TfJson } from './helpers/synth';

function userStack(build: (stack: TerraformStack) => void): TfJson {
  const stack = new TerraformStack(Testing.app(), 'user');
  new DockerProvider(stack, 'docker', {});
  build(stack);
  return JSON.parse(Testing.synth(stack, true)) as TfJson;
}

class Team extends Construct {
  constructor(scope: Construct, id: string, props: EtcdClusterProps) {
    super(scope, id);
    new EtcdCluster(this, 'store', props);
  }
}

describe('two clusters in one stack, one of them nested in a user construct', () => {
  const tf = userStack((stack) => {
    new EtcdCluster(stack, 'orders', { name: 'orders', primaries: 3 });
    new Team(stack, 'billing-team', { name: 'billing', primaries: 1, ports: { primaryBase: 33791, secondaryBase: 34791 } });
  });
  const removed = (tf as { removed?: { from: string }[] }).removed ?? [];

  test('each keeps its own removed blocks, at addresses from its path', () => {
    expect(removed.map((r) => r.from.replace(/_[0-9A-F]{8}$/, ''))).toEqual([
      ...[4, 5, 6, 7, 8, 9].map((i) => `terraform_data.orders_primary-${i}_member`),
      ...[2, 3, 4, 5, 6, 7, 8, 9].map((i) => `terraform_data.billing-team_store_primary-${i}_member`),
      // Each cluster's network as the provider's resource held it before: forgotten, not destroyed.
      'docker_network.orders_network',
      'docker_network.billing-team_store_network',
    ]);
  });

  test('the membership records are where the removed blocks look for them', () => {
    const data = Object.keys(tf.resource.terraform_data);
    expect(data).toEqual(expect.arrayContaining(['orders_primary-1_member', 'orders_primary-3_member', 'billing-team_store_primary-1_member']));
    expect(new Set(data).size).toBe(data.length);
  });

  test('both clusters are there, with their own containers', () => {
    const names = Object.values(tf.resource.docker_container).map((c) => c.name);
    expect(names.sort()).toEqual(['billing-primary-1', 'orders-primary-1', 'orders-primary-2', 'orders-primary-3']);
  });

  test('the JSON says which Terraform it needs (provisioners in removed blocks)', () => {
    expect((tf.terraform as { required_version?: string }).required_version).toBe(REQUIRED_TERRAFORM);
    expect(REQUIRED_TERRAFORM).toBe('>= 1.9.0');
  });
});

test.each<[string, (stack: TerraformStack) => void, string]>([
  [
    'two clusters with the same name',
    (stack) => {
      new EtcdCluster(stack, 'a', { name: 'same', ports: { primaryBase: 40001, secondaryBase: 41001 } });
      new EtcdCluster(stack, 'b', { name: 'same' });
    },
    'name: clusters at user/a and user/b are both named "same"; their containers, volumes and network would collide (give each its own name)',
  ],
  [
    'two clusters on the default ports',
    (stack) => {
      new EtcdCluster(stack, 'a', { name: 'first' });
      new Team(stack, 't', { name: 'second' });
    },
    'ports: clusters first (user/a) and second (user/t/store) both publish port 23791 on 127.0.0.1 (first-primary-1 and second-primary-1); give one of them other ports.primaryBase/secondaryBase',
  ],
  [
    "one cluster's secondaries on another's primaries",
    (stack) => {
      new EtcdCluster(stack, 'a', { name: 'first', primaries: 3, ports: { primaryBase: 40001 } });
      new EtcdCluster(stack, 'b', { name: 'second', primaries: 1, secondaries: 2, ports: { primaryBase: 40011, secondaryBase: 40002 } });
    },
    'ports: clusters first (user/a) and second (user/b) both publish port 40002 on 127.0.0.1 (first-primary-2 and second-secondary-1); give one of them other ports.primaryBase/secondaryBase',
  ],
])('refused at synth: %s', (_what, build, message) => {
  let error: unknown;
  try {
    userStack(build);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SpecError);
  expect((error as Error).message).toBe(message);
});

test('clusters on different Docker hosts may use the same ports: each publishes them on its own host', () => {
  const tf = userStack((stack) => {
    new EtcdCluster(stack, 'a', { name: 'first', primaries: 1, hosts: [{ name: 'h1', docker: 'unix:///run/h1.sock', address: '10.0.0.1' }] });
    new EtcdCluster(stack, 'b', { name: 'second', primaries: 1, hosts: [{ name: 'h2', docker: 'unix:///run/h2.sock', address: '10.0.0.2' }] });
  });
  // Each cluster's container goes through the provider of its own host, and both publish the same ports.
  const providers = tf.provider as { docker: { alias?: string; host?: string }[] };
  expect(providers.docker.filter((p) => p.alias).map((p) => [p.alias, p.host])).toEqual([
    ['h1', 'unix:///run/h1.sock'],
    ['h2', 'unix:///run/h2.sock'],
  ]);
  const published = Object.values(tf.resource.docker_container).map((c) => [
    c.name,
    c.provider,
    (c.ports as { external: number; ip: string }[]).map((p) => `${p.ip}:${p.external}`),
  ]);
  expect(published.sort()).toEqual([
    ['first-primary-1', 'docker.h1', ['10.0.0.1:2379', '10.0.0.1:2380']],
    ['second-primary-1', 'docker.h2', ['10.0.0.2:2379', '10.0.0.2:2380']],
  ]);
});

describe('defaults and outputs of the repository stack', () => {
  const tf = synthStack({ name: 'o', primaries: 9, secondaries: 3 });

  test('no client port on 2380: primary i on 2379i, secondary j on 24790+j', () => {
    const ports = Object.fromEntries(
      Object.values(tf.resource.docker_container).map((c) => [c.name, (c.ports as { external: number }[]).map((p) => p.external)]),
    );
    expect(ports).toEqual({
      ...Object.fromEntries(Array.from({ length: 9 }, (_, k) => [`o-primary-${k + 1}`, [23791 + k]])),
      'o-secondary-1': [24791],
      'o-secondary-2': [24792],
      'o-secondary-3': [24793],
    });
  });

  test('the stack outputs the endpoints for another stack or a script', () => {
    const out = tf.output as Record<string, { value: unknown }>;
    expect(out.endpoints.value).toBe(Array.from({ length: 9 }, (_, k) => `http://127.0.0.1:${23791 + k}`).join(','));
    expect(out.primary_endpoints.value).toEqual(Array.from({ length: 9 }, (_, k) => `http://127.0.0.1:${23791 + k}`));
    expect(out.secondary_endpoints.value).toEqual(['http://127.0.0.1:24791', 'http://127.0.0.1:24792', 'http://127.0.0.1:24793']);
  });
});
