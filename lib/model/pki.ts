/**
 * Certificates for a TLS cluster: where each file lives (in the directory on the deploying machine and
 * inside the containers), and the synth-time check of them, with node:crypto, before a single resource is
 * rendered; which certificates a cluster has (`leavesOf`) and until when a new one is valid. `etcd-cluster pki`
 * makes them (lib/runtime/pki.ts).
 *
 * Layout of the directory: `ca.crt` and `ca.key` (the CA key never leaves the directory), one
 * `<node>.crt` / `<node>.key` pair per primary and secondary (serverAuth and clientAuth; SANs: the
 * container name, `localhost`, 127.0.0.1 and the bind address), `client.crt` / `client.key` for the
 * verifier, and `upstream.crt` / `upstream.key` (no Common Name) for grpc-proxies towards the primaries. Existing files are kept: running it again after scaling adds only what is missing.
 *
 * `ca.crt` is what every member and client trusts: one CA certificate, or during a CA rollover (pki-rotation.ts)
 * a bundle of the old and the new one. `ca.key` is the key of the CA that issues certificates now.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CA_CERT = 'ca.crt';
export const CA_KEY = 'ca.key';
/** During a CA rollover, phase 1: the new CA, trusted (in `ca.crt`) but not issuing yet. */
export const CA_NEW_CERT = 'ca-new.crt';
export const CA_NEW_KEY = 'ca-new.key';
/** During a CA rollover, phase 2: the old CA, still trusted (in `ca.crt`), no longer issuing; its certificate stays afterwards. */
export const CA_OLD_CERT = 'ca-old.crt';
export const CA_OLD_KEY = 'ca-old.key';
/** File stem of the verifier's certificate and key. */
export const CLIENT_NAME = 'client';
/**
 * The grpc-proxies' certificate towards the primaries. etcd's grpc-proxy refuses one with a Common Name
 * ("cert has non empty Common Name"): with auth on, a CN would act as a user name.
 */
export const UPSTREAM_NAME = 'upstream';
/** The verifier's certificate subject: deliberately not an etcd user, so it grants no RBAC role by itself. */
export const CLIENT_CN = 'etcd-cluster-verifier';

/** A node's (or the verifier's, or the proxies' upstream) certificate and key, by file stem. */
export const certFile = (stem: string) => `${stem}.crt`;
export const keyFile = (stem: string) => `${stem}.key`;

/** Where certificates land inside every container of a TLS cluster. */
export const PKI_MOUNT = '/etc/etcd/pki';
export const IN_CONTAINER = {
  ca: `${PKI_MOUNT}/${CA_CERT}`,
  cert: `${PKI_MOUNT}/node.crt`,
  key: `${PKI_MOUNT}/node.key`,
  upstreamCert: `${PKI_MOUNT}/upstream.crt`,
  upstreamKey: `${PKI_MOUNT}/upstream.key`,
} as const;

export class PkiError extends Error {}

export interface PkiNode {
  /** Container name; also the file stem and the certificate's CN. */
  readonly name: string;
  /** IP addresses the certificate must cover besides 127.0.0.1. */
  readonly ips: string[];
  /** DNS names it must cover besides its own name (the primaries' shared name, for the backup container). */
  readonly dns?: string[];
}

/** A leaf certificate to make: its file stem, Common Name and the names it covers. */
export interface Leaf {
  readonly file: string;
  readonly cn: string;
  readonly dns: string[];
  readonly ips: string[];
}

/** Every leaf of a cluster: one per node, the verifier's (`client`), the grpc-proxies' (`upstream`, no CN). */
export function leavesOf(nodes: PkiNode[]): Leaf[] {
  return [
    ...nodes.map((n) => ({ file: n.name, cn: n.name, dns: [n.name, ...(n.dns ?? []), 'localhost'], ips: ['127.0.0.1', ...n.ips] })),
    { file: CLIENT_NAME, cn: CLIENT_CN, dns: [], ips: [] },
    { file: UPSTREAM_NAME, cn: '', dns: [], ips: [] },
  ];
}

const DAY_MS = 86_400_000;

/** The end of a validity of `days` days from `now`. */
export const validUntil = (days: number, now = Date.now()): Date => new Date(now + days * DAY_MS);

/** A checked pair: paths on the deploying machine and content hashes (for `source_hash`). */
export interface CheckedPair {
  readonly cert: string;
  readonly key: string;
  readonly certHash: string;
  readonly keyHash: string;
}

export interface CheckedPki {
  readonly ca: string;
  readonly caHash: string;
  readonly nodes: Record<string, CheckedPair>;
  readonly client: CheckedPair;
  readonly upstream: CheckedPair;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The certificates of a PEM text, each as its own PEM block, in order: a trust bundle holds several. */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

/** The CA certificates of a trust bundle file's content; throws a PkiError naming the file when it holds none. */
export function caCertificates(data: Buffer | string, path: string): X509Certificate[] {
  const blocks = pemCertificates(data.toString());
  try {
    if (!blocks.length) throw new Error('none');
    return blocks.map((b) => new X509Certificate(b));
  } catch {
    throw new PkiError(`tls.dir: ${path} is not a PEM certificate`);
  }
}

/** Whether `ca` issued `cert` (its name and its signature). */
export const issuedBy = (cert: X509Certificate, ca: X509Certificate) => cert.checkIssued(ca) && cert.verify(ca.publicKey);

/**
 * Checks every file synthesis will deliver: present, issued by the CA, not expired, key matching, and
 * names covering the node. Throws one line naming the file and what is wrong.
 */
export function checkPki(dir: string, nodes: PkiNode[], now = new Date()): CheckedPki {
  const hint = 'run `etcd-cluster pki --spec <spec>` to make what is missing';
  const read = (file: string) => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new PkiError(`tls.dir: ${path} is missing; ${hint}`);
    return { path, data: readFileSync(path) };
  };
  const ca = read(CA_CERT);
  // One CA, or during a CA rollover the old and the new one: a certificate must come from one of them.
  const cas = caCertificates(ca.data, ca.path);
  cas.forEach((c, k) => {
    const which = cas.length > 1 ? ` (CA ${k + 1} of ${cas.length}, ${(c.subject ?? '').replace(/\n/g, ', ')})` : '';
    if (new Date(c.validTo) <= now) throw new PkiError(`tls.dir: ${ca.path}${which} expired on ${new Date(c.validTo).toISOString()}`);
  });

  const pair = (stem: string, node?: PkiNode): CheckedPair => {
    const c = read(certFile(stem));
    const k = read(keyFile(stem));
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(c.data);
    } catch {
      throw new PkiError(`tls.dir: ${c.path} is not a PEM certificate`);
    }
    if (!cas.some((caCert) => issuedBy(cert, caCert))) throw new PkiError(`tls.dir: ${c.path} was not issued by ${ca.path}`);
    if (new Date(cert.validTo) <= now) throw new PkiError(`tls.dir: ${c.path} expired on ${new Date(cert.validTo).toISOString()}`);
    if (new Date(cert.validFrom) > now) throw new PkiError(`tls.dir: ${c.path} is not valid before ${new Date(cert.validFrom).toISOString()}`);
    try {
      if (!cert.checkPrivateKey(createPrivateKey(k.data))) throw new Error('mismatch');
    } catch {
      throw new PkiError(`tls.dir: ${k.path} does not belong to ${c.path}`);
    }
    if (node) {
      const sans = (cert.subjectAltName ?? '').split(', ');
      const wanted = [`DNS:${node.name}`, ...(node.dns ?? []).map((d) => `DNS:${d}`), ...['127.0.0.1', ...node.ips].map((ip) => `IP Address:${ip}`)];
      const missing = wanted.filter((n) => !sans.includes(n));
      if (missing.length)
        throw new PkiError(
          `tls.dir: ${c.path} does not cover ${missing
            .map((m) => m.replace('IP Address:', ''))
            .join(', ')
            .replace(/DNS:/g, '')} (it names ${cert.subjectAltName ?? 'nothing'}); remove it and its key, then run \`etcd-cluster pki --spec <spec>\` again`,
        );
    }
    return { cert: c.path, key: k.path, certHash: sha256(c.data), keyHash: sha256(k.data) };
  };

  return {
    ca: ca.path,
    caHash: sha256(ca.data),
    nodes: Object.fromEntries(nodes.map((n) => [n.name, pair(n.name, n)])),
    client: pair(CLIENT_NAME),
    upstream: pair(UPSTREAM_NAME),
  };
}
