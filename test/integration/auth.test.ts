/**
 * Issue 5: etcd RBAC on a TLS cluster. The hook turns authentication on after bootstrap and verifies as
 * root; an unauthenticated write is refused, an authenticated one succeeds; the CLI authenticates.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import { ensurePki } from '../../lib/runtime/pki';
import { describeEngine } from '../harness/describe-engine';
import { etcdCluster } from '../harness/cli';
import { putOutcome, refusedFor } from '../harness/probes';
import { TestCluster } from '../harness/test-cluster';
import { scratchDir } from '../helpers/synth';

jest.setTimeout(300_000);
const PASSWORD_ENV = 'IT_ETCD_ROOT_PASSWORD';

describeEngine('a 3+2 TLS cluster with authentication', () => {
  let cluster: TestCluster;
  let pki: string;
  let stackDir: string;
  const password = randomBytes(12).toString('hex');

  beforeAll(async () => {
    pki = join(scratchDir('pki-auth'), 'pki');
    cluster = await TestCluster.create(
      'auth',
      { primaries: 3, secondaries: 2, tls: { dir: pki }, auth: { passwordEnv: PASSWORD_ENV } },
      {
        hookEnv: { [PASSWORD_ENV]: password },
      },
    );
    await ensurePki(pki, cluster.topology.tls!.nodes);
    await cluster.apply();
    // The stack directory as cdktf synth leaves it: the configuration and the TLS files it names.
    stackDir = cluster.stackDir();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  const connect = (endpoint: string, auth?: { username: string; password: string }) =>
    new Etcd3({
      hosts: endpoint,
      credentials: {
        rootCertificate: readFileSync(join(pki, 'ca.crt')),
        certChain: readFileSync(join(pki, 'client.crt')),
        privateKey: readFileSync(join(pki, 'client.key')),
      },
      auth,
      dialTimeout: 2000,
      faultHandling: { global: noop, host: () => noop },
    });
  const tryPut = (endpoint: string, auth?: { username: string; password: string }) => putOutcome(connect(endpoint, auth), '/it/auth');

  test('the hook enabled authentication and verified as root', () => {
    expect(cluster.deployment.lastOutput).toContain('verify --enable-auth --timeout 60');
    expect(cluster.deployment.lastOutput).toMatch(/authentication enabled/);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
    expect(cluster.deployment.lastOutput).not.toContain(password);
  });

  test('an unauthenticated write is refused, directly and through the secondary', async () => {
    expect(await tryPut(cluster.topology.primaries[0].hostClientUrl)).toMatch(refusedFor('unauthenticated'));
    // The secondary forwards the request without a login: etcd's own refusal comes back through it.
    expect(await tryPut(cluster.topology.secondaries[0].hostClientUrl)).toMatch(refusedFor('unauthenticated'));
  });

  test('a wrong password is refused', async () => {
    expect(await tryPut(cluster.topology.primaries[1].hostClientUrl, { username: 'root', password: 'wrong' })).toMatch(refusedFor('wrongPassword'));
  });

  test('an authenticated write succeeds, directly and through the secondary', async () => {
    expect(await tryPut(cluster.topology.primaries[2].hostClientUrl, { username: 'root', password })).toBe('accepted');
    expect(await tryPut(cluster.topology.secondaries[0].hostClientUrl, { username: 'root', password })).toBe('accepted');
  });

  test('members and verify authenticate; without the password they stop with one line', async () => {
    const ok = await etcdCluster(['members', '--stack', stackDir, '--json'], { env: { [PASSWORD_ENV]: password } });
    expect(ok.code).toBe(0);
    expect(
      JSON.parse(ok.stdout)
        .members.map((m: { state: string }) => m.state)
        .sort(),
    ).toEqual(['follower', 'follower', 'leader', 'serving', 'serving']);
    const again = await etcdCluster(['verify', '--enable-auth', '--stack', stackDir, '--timeout', '20'], { env: { [PASSWORD_ENV]: password } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('authentication already enabled');
    const missing = await etcdCluster(['verify', '--stack', stackDir], { env: { [PASSWORD_ENV]: '' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`etcd-cluster: auth: set ${PASSWORD_ENV} to the root password of cluster ${cluster.name}\n`);
  });
});
