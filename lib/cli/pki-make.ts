/**
 * `etcd-cluster pki`: makes the CA and certificates of a TLS cluster with @peculiar/x509 (no hand-written
 * ASN.1). Kept apart from lib/model/pki.ts so that synthesis never loads the X.509 library.
 */
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { CA_CERT, CA_KEY, certFile, CLIENT_CN, CLIENT_NAME, keyFile, PkiError, type PkiNode, UPSTREAM_NAME } from '../model/pki';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;

async function exportKey(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

async function importKey(pemText: string): Promise<CryptoKey> {
  const der = createPrivateKey(pemText).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

const serial = () => {
  const b = randomBytes(16);
  b[0] &= 0x7f; // positive
  return b.toString('hex');
};

export interface PkiResult {
  readonly created: string[];
  readonly kept: string[];
}

/** Makes what is missing in `dir`: the CA, then a certificate per node and the verifier's. */
export async function ensurePki(dir: string, nodes: PkiNode[], days = 825): Promise<PkiResult> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const kept: string[] = [];
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + days * 86_400_000);

  let caCert: x509.X509Certificate;
  let caKey: CryptoKey;
  const caCertPath = join(dir, CA_CERT);
  const caKeyPath = join(dir, CA_KEY);
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    caCert = new x509.X509Certificate(readFileSync(caCertPath, 'utf8'));
    caKey = await importKey(readFileSync(caKeyPath, 'utf8'));
    kept.push(CA_CERT);
  } else if (existsSync(caCertPath) || existsSync(caKeyPath)) {
    throw new PkiError(`${dir}: has only one of ${CA_CERT} and ${CA_KEY}; restore the other or remove both to start a new CA`);
  } else {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=cdktf-etcd-cluster CA',
      notBefore,
      notAfter: new Date(Date.now() + 2 * days * 86_400_000),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caKey = keys.privateKey;
    writeFileSync(caKeyPath, await exportKey(caKey), { mode: 0o600 });
    writeFileSync(caCertPath, caCert.toString('pem') + '\n');
    created.push(CA_CERT);
  }

  const leaves = [
    ...nodes.map((n) => ({ file: n.name, cn: n.name, dns: [n.name, ...(n.dns ?? []), 'localhost'], ips: ['127.0.0.1', ...n.ips] })),
    { file: CLIENT_NAME, cn: CLIENT_CN, dns: [], ips: [] },
    { file: UPSTREAM_NAME, cn: '', dns: [], ips: [] },
  ];
  for (const leaf of leaves) {
    const certPath = join(dir, certFile(leaf.file));
    const keyPath = join(dir, keyFile(leaf.file));
    if (existsSync(certPath) && existsSync(keyPath)) {
      kept.push(certFile(leaf.file));
      continue;
    }
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const names = [...leaf.dns.map((value) => ({ type: 'dns' as const, value })), ...[...new Set(leaf.ips)].map((value) => ({ type: 'ip' as const, value }))];
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: leaf.cn ? `CN=${leaf.cn}` : '',
      issuer: caCert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    writeFileSync(keyPath, await exportKey(keys.privateKey), { mode: 0o600 });
    writeFileSync(certPath, cert.toString('pem') + '\n');
    created.push(certFile(leaf.file));
  }
  return { created, kept };
}
