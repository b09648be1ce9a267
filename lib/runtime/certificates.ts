/**
 * The certificates of a TLS cluster as they are: read from the files the configuration names (the stack
 * directory's assets, or the spec's tls.dir), and as each member serves its own on its client port (a TLS
 * handshake: what a client sees, and what expires on the night). Plain data for the judge (judge.ts), which
 * decides what is expired or about to be. node:crypto and node:tls only; no etcd client.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import type { CertificateFile, Expectation } from '../contract';

/** One certificate, as the judge needs it. */
export interface CertificateSeen {
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** The first 16 hex digits of its SHA-256 fingerprint: tells a renewed certificate from the one before. */
  readonly fingerprint: string;
}

/** A certificate file of the cluster, and what it holds (several certificates for a CA bundle), or why it could not be read. */
export interface FileObservation extends Omit<CertificateFile, 'path'> {
  /** Null when the message names no file for it (a server certificate of a stack made before certificates were listed). */
  readonly path: string | null;
  readonly certificates?: CertificateSeen[];
  readonly error?: string;
}

/** What a member served on its client port, or why the handshake failed. */
export interface ServedObservation {
  readonly member: string;
  readonly endpoint: string;
  readonly certificate?: CertificateSeen;
  readonly error?: string;
}

export interface CertificatesObservation {
  /** When they were looked at (ISO): expiry is judged against it. */
  readonly at: string;
  readonly files: FileObservation[];
  readonly served: ServedObservation[];
}

export function seen(c: X509Certificate): CertificateSeen {
  return {
    subject: (c.subject ?? '').replace(/\n/g, ', ') || '(no subject)',
    issuer: (c.issuer ?? '').replace(/\n/g, ', '),
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
    fingerprint: createHash('sha256').update(c.raw).digest('hex').slice(0, 16),
  };
}

/** The certificates of a PEM file, in order. */
export function readCertificates(path: string): CertificateSeen[] {
  const text = readFileSync(path, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error('not a PEM certificate');
  return blocks.map((b) => seen(new X509Certificate(b)));
}

/**
 * The certificate a member serves, from a TLS handshake at its endpoint. It presents the verifier's client
 * certificate (a primary requires one) and accepts whatever the member sends: an expired certificate or one
 * from another CA is exactly what this wants to see.
 */
export function servedCertificate(endpoint: string, tls: { cert: string; key: string }, timeoutMs = 2000): Promise<CertificateSeen> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: url.hostname,
      port: Number(url.port),
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs / 1000}s`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate();
      if (!peer?.raw) {
        socket.destroy();
        return reject(new Error('it presented no certificate'));
      }
      resolve(seen(new X509Certificate(peer.raw)));
      // With TLS 1.3 the client is done before the server has read its certificate: closing now makes the
      // member log a failed handshake ("rejected connection ... EOF"). The server's session ticket says it
      // has accepted the handshake; then close (or after a moment, if none comes).
      const close = () => {
        clearTimeout(grace);
        socket.end();
      };
      const grace = setTimeout(close, socket.getProtocol() === 'TLSv1.3' ? 1000 : 0);
      socket.once('session', close);
      socket.resume();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * The certificate files of an expectation. One from a release before the list existed knows only the
 * target's CA and client certificate; each primary's own certificate is then seen only as it is served.
 */
export function certificateFilesOf(e: Expectation): Omit<FileObservation, 'certificates' | 'error'>[] {
  if (e.certificates) return e.certificates.files;
  const tls = e.target.tls;
  if (!tls) return [];
  return [
    { name: 'ca.crt', path: tls.ca, use: 'ca', members: [] },
    ...e.target.primaries.map((p) => ({ name: `${p.name}.crt`, path: null, use: 'server-peer' as const, members: [p.name] })),
    { name: 'client.crt', path: tls.cert, use: 'client', members: [] },
  ];
}

/** Every certificate file read, and every member's served certificate asked for, at once; never throws. */
export async function observeCertificates(e: Expectation, timeoutMs = 2000): Promise<CertificatesObservation | undefined> {
  const tls = e.target.tls;
  if (!tls) return undefined;
  const at = new Date().toISOString();
  const files = certificateFilesOf(e).map((f): FileObservation => {
    if (!f.path) return f;
    try {
      return { ...f, certificates: readCertificates(f.path) };
    } catch (err) {
      return { ...f, error: `cannot read ${f.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  });
  const endpoints = new Map<string, string>([
    ...e.target.primaries.map((p) => [p.name, p.endpoint] as const),
    ...e.secondaries.map((s) => [s.name, s.endpoint] as const),
  ]);
  const servers = files.filter((f) => f.use === 'server-peer' || f.use === 'server').flatMap((f) => f.members.filter((m) => endpoints.has(m)));
  const served = await Promise.all(
    servers.map(async (member): Promise<ServedObservation> => {
      const endpoint = endpoints.get(member)!;
      try {
        return { member, endpoint, certificate: await servedCertificate(endpoint, tls, timeoutMs) };
      } catch (err) {
        return { member, endpoint, error: (err as Error).message };
      }
    }),
  );
  return { at, files, served };
}
