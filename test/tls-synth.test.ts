/** TLS at synth time: certificates are made by `etcd-cluster pki`, checked before rendering, never inlined. */
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import { ensurePki } from '../lib/runtime/pki';
import * as x509 from '@peculiar/x509';
import { Testing, TerraformStack } from 'cdktf';
import { EtcdCluster } from '../constructs/etcd-cluster';
import { buildTopology, SpecError, validateSpec } from '../lib/model';
import { resourcesOf, scratchDir, synthStack } from './helpers/synth';

jest.setTimeout(60_000);
const spec = (dir: string, extra: Record<string, unknown> = {}) => ({ name: 'sec', primaries: 3, secondaries: 2, tls: { dir }, ...extra });
async function pkiFor(props: ReturnType<typeof spec>) {
  const t = buildTopology(validateSpec(props));
  await ensurePki(t.tls!.dir, t.tls!.nodes);
  return t;
}

describe('a TLS cluster synthesizes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = scratchDir('tls');
    await pkiFor(spec(dir));
  });

  test('primaries get https URLs and every TLS flag; files arrive through upload with source', () => {
    const tf = synthStack(spec(dir));
    const containers = [...resourcesOf(tf).entries()].filter(([k]) => k.startsWith('docker_container.')).map(([, v]) => v);
    const p1 = containers.find((c) => c.name === 'sec-primary-1')!;
    expect(p1.command).toEqual(
      expect.arrayContaining([
        '--listen-client-urls=https://0.0.0.0:2379',
        '--advertise-client-urls=https://sec-primary-1:2379',
        '--initial-advertise-peer-urls=https://sec-primary-1:2380',
        '--cert-file=/etc/etcd/pki/node.crt',
        '--key-file=/etc/etcd/pki/node.key',
        '--trusted-ca-file=/etc/etcd/pki/ca.crt',
        '--client-cert-auth',
        '--peer-client-cert-auth',
      ]),
    );
    // Sources are assets, named relative to the stack directory (cdktf copies them there).
    const asset = (file: string) => expect.stringMatching(new RegExp(`^assets/cluster_pki_[^/]+/[0-9A-F]+/${file.replace('.', '\\.')}$`));
    expect(p1.upload).toEqual([
      { file: '/etc/etcd/pki/ca.crt', source: asset('ca.crt'), source_hash: expect.stringMatching(/^[0-9a-f]{64}$/), permissions: '0644' },
      { file: '/etc/etcd/pki/node.crt', source: asset('sec-primary-1.crt'), source_hash: expect.stringMatching(/^[0-9a-f]{64}$/), permissions: '0644' },
      { file: '/etc/etcd/pki/node.key', source: asset('sec-primary-1.key'), source_hash: expect.stringMatching(/^[0-9a-f]{64}$/), permissions: '0600' },
    ]);
    const s1 = containers.find((c) => c.name === 'sec-secondary-1')!;
    expect(s1.command).toEqual(
      expect.arrayContaining(['--cacert=/etc/etcd/pki/ca.crt', '--cert-file=/etc/etcd/pki/node.crt', '--trusted-ca-file=/etc/etcd/pki/ca.crt']),
    );
  });

  test('no path of this machine appears in the JSON: the same files in another directory give the same stack', async () => {
    const other = scratchDir('tls-other');
    for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(other, f));
    const here = JSON.stringify(synthStack(spec(dir)));
    expect(here).not.toContain(dir);
    expect(JSON.stringify(synthStack(spec(other)))).toBe(here);
    // The hooks name the verifier's certificate the same way.
    const hook = resourcesOf(synthStack(spec(dir))).get('terraform_data.cluster_verify_hook_DF379E4D') as {
      input: { target: { tls: Record<string, string> } };
    };
    expect(Object.values(hook.input.target.tls).every((p) => p.startsWith('assets/cluster_pki_'))).toBe(true);
  });

  test('no private key appears in the synthesized JSON', () => {
    const text = JSON.stringify(synthStack(spec(dir)));
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(readFileSync(join(dir, 'sec-primary-1.key'), 'utf8').split('\n')[1]);
  });

  test('synthesis is stable: the same files give the same JSON, and pki keeps what exists', async () => {
    const a = JSON.stringify(synthStack(spec(dir)));
    const again = await ensurePki(dir, buildTopology(validateSpec(spec(dir))).tls!.nodes);
    expect(again.created).toEqual([]);
    expect(JSON.stringify(synthStack(spec(dir)))).toBe(a);
  });

  test('scaling secondaries needs only the new certificates and changes no primary', async () => {
    const before = resourcesOf(synthStack(spec(dir)));
    const grown = await pkiFor(spec(dir, { secondaries: 3 }));
    expect(grown.secondaries).toHaveLength(3);
    const after = resourcesOf(synthStack(spec(dir, { secondaries: 3 })));
    for (const [k, v] of before) if (k.includes('primary')) expect(JSON.stringify(after.get(k))).toBe(JSON.stringify(v));
  });

  test('a cluster exposed beyond loopback without TLS gets a warning', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const c = new EtcdCluster(stack, 'cluster', { name: 'open', ports: { bindAddress: '0.0.0.0' } });
    expect(c.node.metadata.map((m: { data: string }) => m.data)).toContain(
      'ports.bindAddress: 0.0.0.0 exposes the cluster beyond loopback without TLS; anyone who reaches it can read and write everything (set tls.dir)',
    );
  });
});

describe('bad certificates are refused at synth time, in one line', () => {
  test('a missing certificate file', async () => {
    const dir = scratchDir('tls-missing');
    await pkiFor(spec(dir));
    rmSync(join(dir, 'sec-secondary-2.crt'));
    expect(() => synthStack(spec(dir))).toThrow(SpecError);
    expect(() => synthStack(spec(dir))).toThrow(
      `tls.dir: ${join(dir, 'sec-secondary-2.crt')} is missing; run \`etcd-cluster pki --spec <spec>\` to make what is missing`,
    );
  });

  test('a certificate whose names do not cover its member', async () => {
    const dir = scratchDir('tls-names');
    await pkiFor(spec(dir));
    copyFileSync(join(dir, 'sec-primary-1.crt'), join(dir, 'sec-primary-2.crt'));
    copyFileSync(join(dir, 'sec-primary-1.key'), join(dir, 'sec-primary-2.key'));
    expect(() => synthStack(spec(dir))).toThrow(
      `tls.dir: ${join(dir, 'sec-primary-2.crt')} does not cover sec-primary-2 (it names DNS:sec-primary-1, DNS:localhost, IP Address:127.0.0.1); remove it and its key, then run \`etcd-cluster pki --spec <spec>\` again`,
    );
  });

  test('an expired certificate', async () => {
    const dir = scratchDir('tls-expired');
    await pkiFor(spec(dir));
    // Re-issue primary 3's certificate from the same CA, valid only in the past.
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const ca = new x509.X509Certificate(readFileSync(join(dir, 'ca.crt'), 'utf8'));
    const der = createPrivateKey(readFileSync(join(dir, 'ca.key'))).export({ format: 'der', type: 'pkcs8' });
    const caKey = await webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign']);
    const keyDer = createPrivateKey(readFileSync(join(dir, 'sec-primary-3.key'))).export({ format: 'der', type: 'pkcs8' });
    const priv = createPrivateKey({ key: keyDer, format: 'der', type: 'pkcs8' });
    const pubDer = createPublicKey(priv).export({ format: 'der', type: 'spki' });
    const pub = await webcrypto.subtle.importKey('spki', pubDer, alg, true, ['verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '0badc0de',
      subject: 'CN=sec-primary-3',
      issuer: ca.subject,
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
      signingAlgorithm: alg,
      publicKey: pub as never,
      signingKey: caKey as never,
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'sec-primary-3' },
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ],
    });
    writeFileSync(join(dir, 'sec-primary-3.crt'), cert.toString('pem'));
    expect(() => synthStack(spec(dir))).toThrow(`tls.dir: ${join(dir, 'sec-primary-3.crt')} expired on 2021-01-01T00:00:00.000Z`);
  });

  test('a certificate from another CA', async () => {
    const dir = scratchDir('tls-ca');
    const other = scratchDir('tls-other');
    await pkiFor(spec(dir));
    await pkiFor(spec(other));
    copyFileSync(join(other, 'sec-secondary-1.crt'), join(dir, 'sec-secondary-1.crt'));
    expect(() => synthStack(spec(dir))).toThrow(`tls.dir: ${join(dir, 'sec-secondary-1.crt')} was not issued by ${join(dir, 'ca.crt')}`);
  });
});
