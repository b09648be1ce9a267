/**
 * Issue 5: a 3+2 cluster with mutual TLS on the real engine. It forms and verifies (hook and CLI over TLS);
 * plaintext clients, clients without a certificate and clients with another CA's certificate are refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import { describeEngine } from '../harness/describe-engine';
import { etcdCluster } from '../harness/cli';
import { putOutcome, refusedFor } from '../harness/probes';
import { TestCluster } from '../harness/test-cluster';
import { scratchDir } from '../helpers/synth';

jest.setTimeout(300_000);

describeEngine('a 3+2 cluster with mutual TLS', () => {
  let cluster: TestCluster;
  let pki: string;
  let otherPki: string;

  beforeAll(async () => {
    pki = join(scratchDir('pki'), 'pki');
    otherPki = join(scratchDir('pki-other'), 'pki');
    cluster = await TestCluster.create('tls', { primaries: 3, secondaries: 2, tls: { dir: pki } });
    // Certificates come from the CLI, as a user makes them: a spec file whose tls.dir is relative to it.
    const specDir = join(pki, '..');
    writeFileSync(join(specDir, 'cluster.json'), JSON.stringify({ ...cluster.spec, tls: { dir: 'pki' } }));
    const made = await etcdCluster(['pki', '--spec', join(specDir, 'cluster.json')]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('created ca.crt, ');
    const other = await etcdCluster(['pki', '--spec', join(specDir, 'cluster.json'), '--out', otherPki]);
    expect(other.code).toBe(0);
    await cluster.apply();
  });
  afterAll(async () => cluster && (await cluster.teardown()));

  const creds = (dir: string, withCert = true) => ({
    rootCertificate: readFileSync(join(pki, 'ca.crt')),
    ...(withCert ? { certChain: readFileSync(join(dir, 'client.crt')), privateKey: readFileSync(join(dir, 'client.key')) } : {}),
  });
  // One try, no circuit breaker: etcd3's own policy retries and then reports its open breaker, which names no
  // cause; the refusal must be the connection's own error.
  const tryPut = (hosts: string, credentials?: ReturnType<typeof creds>) =>
    putOutcome(
      new Etcd3({
        hosts,
        credentials,
        dialTimeout: 2000,
        defaultCallOptions: () => ({ deadline: Date.now() + 3000 }),
        faultHandling: { global: noop, host: () => noop },
      }),
      '/it/tls',
    );

  test('it forms and the hook verified it over TLS', () => {
    expect(cluster.topology.primaries[0].hostClientUrl).toMatch(/^https:\/\/127\.0\.0\.1:/);
    expect(cluster.deployment.lastOutput).toMatch(/matches the spec/);
  });

  test('members over TLS shows a leader, followers and registered secondaries', async () => {
    const r = await etcdCluster(['members', '--stack', cluster.stackDir(), '--json']);
    expect(r.code).toBe(0);
    const states = JSON.parse(r.stdout)
      .members.map((m: { state: string }) => m.state)
      .sort();
    expect(states).toEqual(['follower', 'follower', 'leader', 'registered', 'registered']);
  });

  test('a client with a certificate from the cluster CA is accepted, directly and through a secondary', async () => {
    expect(await tryPut(cluster.topology.primaries[0].hostClientUrl, creds(pki))).toBe('accepted');
    expect(await tryPut(cluster.topology.secondaries[0].hostClientUrl, creds(pki))).toBe('accepted');
  });

  // Each refusal names its cause, and the same endpoint accepts the cluster's own client: the port is the
  // member's and it answers, so the refusal is the one the test means.
  test('a plaintext client is refused: the TLS listener drops it before HTTP/2', async () => {
    const url = cluster.topology.primaries[0].hostClientUrl;
    expect(await tryPut(url.replace('https://', 'http://'))).toMatch(refusedFor('plaintextAtTls'));
    expect(await tryPut(url, creds(pki))).toBe('accepted');
  });

  test('a client without a certificate is refused by every primary: certificate required', async () => {
    for (const p of cluster.topology.primaries) {
      expect([p.name, await tryPut(p.hostClientUrl, creds(pki, false))]).toEqual([p.name, expect.stringMatching(refusedFor('noClientCertificate'))]);
      expect([p.name, await tryPut(p.hostClientUrl, creds(pki))]).toEqual([p.name, 'accepted']);
    }
  });

  test('a plaintext client is refused by a secondary, which serves TLS', async () => {
    const url = cluster.topology.secondaries[1].hostClientUrl;
    expect(await tryPut(url.replace('https://', 'http://'))).toMatch(refusedFor('plaintextAtTls'));
    expect(await tryPut(url, creds(pki))).toBe('accepted');
  });

  test('a client whose certificate comes from another CA is refused: unknown authority', async () => {
    const url = cluster.topology.primaries[2].hostClientUrl;
    expect(await tryPut(url, creds(otherPki))).toMatch(refusedFor('unknownAuthority'));
    expect(await tryPut(url, creds(pki))).toBe('accepted');
  });

  test('peers talk TLS: the member list advertises https peer URLs', async () => {
    const c = new Etcd3({ hosts: cluster.topology.primaries[0].hostClientUrl, credentials: creds(pki) });
    try {
      const { members } = await c.cluster.memberList({ linearizable: false });
      expect(members.map((m) => m.peerURLs[0]).sort()).toEqual(cluster.topology.primaries.map((p) => p.peerUrl).sort());
      expect(members.every((m) => m.peerURLs[0].startsWith('https://'))).toBe(true);
    } finally {
      c.close();
    }
  });
});
