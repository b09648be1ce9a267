/**
 * `etcd-cluster pki`, `pki renew` and `pki rotate-ca`: make the CA and certificates of a TLS cluster with
 * @peculiar/x509 (no hand-written ASN.1), and read what the containers trust and present. The rules (which
 * certificates a cluster has, which phase a directory is in, what each phase needs) are the model's
 * (lib/model/pki.ts, pki-rotation.ts), which synthesis loads without the X.509 library. Private keys are
 * written 0600, and every command writes its files under temporary names first and renames them into place
 * at the end: a failure leaves the directory as it was.
 */
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import {
  CA_CERT,
  CA_KEY,
  CA_NEW_CERT,
  CA_NEW_KEY,
  CA_OLD_CERT,
  CA_OLD_KEY,
  certFile,
  issuedBy,
  keyFile,
  leavesOf,
  type Leaf,
  pemCertificates,
  PkiError,
  type PkiNode,
  validUntil,
} from '../model/pki';
import {
  liveTrustOf,
  outOfOrder,
  pkiContainersOf,
  readPkiState,
  type ContainerFiles,
  type LiveTrust,
  type PkiState,
  type RotationCommand,
} from '../model/pki-rotation';
import type { Topology } from '../model/topology/types';
import { readFilesIn } from './docker';
import { PendingFiles } from './files';

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

/** A CA that can sign: its certificate and private key. */
export interface SigningCa {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

/** A new self-signed CA, valid for `days`. */
async function makeCa(name: string, days: number): Promise<SigningCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: validUntil(days),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey };
}

/** A leaf certificate and its new key from this CA, as PEM texts. */
export async function issueLeaf(ca: SigningCa, leaf: Leaf, validity: { notBefore?: Date; notAfter: Date }): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = [...leaf.dns.map((value) => ({ type: 'dns' as const, value })), ...[...new Set(leaf.ips)].map((value) => ({ type: 'ip' as const, value }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: leaf.cn ? `CN=${leaf.cn}` : '',
    issuer: ca.cert.subject,
    notBefore: validity.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: validity.notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await exportKey(keys.privateKey) };
}

/** The CA that issues now: of the certificates in `ca.crt` (one, or two during a rollover), the one `ca.key` belongs to. */
export async function issuingCa(dir: string, certName = CA_CERT, keyName = CA_KEY): Promise<SigningCa> {
  const keyPem = readFileSync(join(dir, keyName), 'utf8');
  const owner = createPrivateKey(keyPem);
  const pem = pemCertificates(readFileSync(join(dir, certName), 'utf8')).find((c) => {
    try {
      return new X509Certificate(c).checkPrivateKey(owner);
    } catch {
      return false;
    }
  });
  if (!pem) throw new PkiError(`${join(dir, keyName)} belongs to none of the CA certificates in ${join(dir, certName)}`);
  return { cert: new x509.X509Certificate(pem), key: await importKey(keyPem) };
}

/** Makes what is missing in `dir`: the CA, then a certificate per node and the verifier's. */
export async function ensurePki(dir: string, nodes: PkiNode[], days = 825): Promise<PkiResult> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const kept: string[] = [];
  const caCertPath = join(dir, CA_CERT);
  const caKeyPath = join(dir, CA_KEY);
  let ca: SigningCa;
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    ca = await issuingCa(dir);
    kept.push(CA_CERT);
  } else if (existsSync(caCertPath) || existsSync(caKeyPath)) {
    throw new PkiError(`${dir}: has only one of ${CA_CERT} and ${CA_KEY}; restore the other or remove both to start a new CA`);
  } else {
    ca = await makeCa('CN=cdktf-etcd-cluster CA', 2 * days);
    const pending = new PendingFiles(dir);
    pending.add(CA_KEY, await exportKey(ca.key), 0o600);
    pending.add(CA_CERT, ca.cert.toString('pem') + '\n');
    pending.commit();
    created.push(CA_CERT);
  }
  const notAfter = validUntil(days);
  for (const leaf of leavesOf(nodes)) {
    if (existsSync(join(dir, certFile(leaf.file))) && existsSync(join(dir, keyFile(leaf.file)))) {
      kept.push(certFile(leaf.file));
      continue;
    }
    const made = await issueLeaf(ca, leaf, { notAfter });
    const pending = new PendingFiles(dir);
    pending.add(keyFile(leaf.file), made.key, 0o600);
    pending.add(certFile(leaf.file), made.cert);
    pending.commit();
    created.push(certFile(leaf.file));
  }
  return { created, kept };
}

/** New certificates and keys for every node, the verifier and the proxies, from the CA that issues now; written together. */
async function reissueAll(dir: string, ca: SigningCa, nodes: PkiNode[], days: number, pending: PendingFiles): Promise<string[]> {
  const notAfter = validUntil(days);
  const files: string[] = [];
  for (const leaf of leavesOf(nodes)) {
    const made = await issueLeaf(ca, leaf, { notAfter });
    pending.add(keyFile(leaf.file), made.key, 0o600);
    pending.add(certFile(leaf.file), made.cert);
    files.push(certFile(leaf.file));
  }
  return files;
}

/**
 * `pki renew`: new certificates and keys for every node, the verifier and the proxies, from the CA that
 * issues now (the CA is kept; in a rollover, the phase's). Returns the certificates renewed.
 */
export async function renewPki(dir: string, nodes: PkiNode[], days = 825): Promise<string[]> {
  readPkiState(dir); // a directory that fits no phase is refused, with what does not fit
  const pending = new PendingFiles(dir);
  const renewed = await reissueAll(dir, await issuingCa(dir), nodes, days, pending);
  pending.commit();
  return renewed;
}

function refuseOutOfOrder(dir: string, command: RotationCommand): void {
  const why = outOfOrder(command, readPkiState(dir).phase);
  if (why) throw new PkiError(why);
}

/** `pki rotate-ca trust-new` (phase 0 -> 1): a new CA, trusted next to the old one; it issues nothing yet. */
export async function trustNewCa(dir: string, days = 1650): Promise<{ files: string[]; subject: string }> {
  refuseOutOfOrder(dir, 'trust-new');
  const old = readFileSync(join(dir, CA_CERT), 'utf8');
  const subject = `CN=cdktf-etcd-cluster CA ${new Date().toISOString().slice(0, 10)} ${serial().slice(0, 8)}`;
  const ca = await makeCa(subject, days);
  const pending = new PendingFiles(dir);
  pending.add(CA_NEW_KEY, await exportKey(ca.key), 0o600);
  pending.add(CA_NEW_CERT, ca.cert.toString('pem') + '\n');
  pending.add(CA_CERT, pemCertificates(old).join('') + ca.cert.toString('pem') + '\n');
  return { files: pending.commit(), subject };
}

/**
 * `pki rotate-ca reissue` (phase 1 -> 2): every certificate anew from the new CA, which becomes the issuing
 * one (`ca.key`); the old CA is kept as `ca-old.crt`/`ca-old.key` and stays trusted. The caller has checked
 * that every container trusts the new CA.
 */
export async function reissueFromNewCa(dir: string, nodes: PkiNode[], days = 825): Promise<string[]> {
  refuseOutOfOrder(dir, 'reissue');
  const state = readPkiState(dir);
  const pending = new PendingFiles(dir);
  const renewed = await reissueAll(dir, await issuingCa(dir, CA_NEW_CERT, CA_NEW_KEY), nodes, days, pending);
  pending.add(CA_OLD_CERT, state.issuing.toString());
  pending.add(CA_OLD_KEY, readFileSync(join(dir, CA_KEY), 'utf8'), 0o600);
  pending.add(CA_KEY, readFileSync(join(dir, CA_NEW_KEY), 'utf8'), 0o600);
  pending.commit();
  rmSync(join(dir, CA_NEW_KEY));
  rmSync(join(dir, CA_NEW_CERT));
  return renewed;
}

/**
 * `pki rotate-ca drop-old` (phase 2 -> 0): `ca.crt` holds the new CA alone; the old CA's key is deleted
 * (its certificate stays as `ca-old.crt`, so that `pki status` can name containers that still trust it).
 * Refused while a certificate of the cluster in the directory is still from the old CA.
 */
export async function dropOldCa(dir: string, nodes: PkiNode[]): Promise<string[]> {
  refuseOutOfOrder(dir, 'drop-old');
  const state = readPkiState(dir);
  for (const leaf of leavesOf(nodes)) {
    const path = join(dir, certFile(leaf.file));
    if (!existsSync(path)) continue;
    if (!issuedBy(new X509Certificate(readFileSync(path)), state.issuing)) {
      throw new PkiError(`pki rotate-ca drop-old: ${path} is not from the new CA; run etcd-cluster pki renew --spec <spec>, roll it out, then drop-old`);
    }
  }
  const pending = new PendingFiles(dir);
  pending.add(CA_CERT, state.issuing.toString());
  const files = pending.commit();
  rmSync(join(dir, CA_OLD_KEY));
  return files;
}

/**
 * What every container of the cluster trusts and presents, read through its Docker host; a container that
 * cannot be read says why (never throws).
 */
export async function liveTrust(topology: Topology, state: PkiState): Promise<LiveTrust[]> {
  const seen = await Promise.all(
    pkiContainersOf(topology).map(async (c): Promise<ContainerFiles> => {
      try {
        const r = await readFilesIn(c.name, c.files, c.docker);
        return r.absent ? { name: c.name, absent: true } : { name: c.name, files: r.files };
      } catch (e) {
        return { name: c.name, error: (e as Error).message };
      }
    }),
  );
  return liveTrustOf(state, seen);
}
