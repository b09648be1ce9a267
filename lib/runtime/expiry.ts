/**
 * When the certificates of a TLS cluster expire, judged: a pure function of what was read (certificates.ts)
 * and the moment it was read. Each certificate is `ok`, `expiring` (within the warning days), `expired`, or
 * `unreadable`; a member's own certificate is judged as it serves it (what its clients and peers see), and
 * as its file when it did not answer. An expired certificate is a problem (verify fails); one expiring soon,
 * or a member serving another certificate than its file (renewed, not rolled out yet), is a warning.
 */
import type { CertificateFile } from '../contract';
import type { CertificateSeen, CertificatesObservation } from './certificates';

export type ExpiryState = 'ok' | 'expiring' | 'expired' | 'unreadable';

export interface CertificateReport {
  /** Its file name in the TLS directory (`ca.crt` once per CA it holds). */
  readonly file: string;
  readonly use: CertificateFile['use'];
  /** The members (or the backup container) that present it. */
  readonly members: string[];
  readonly state: ExpiryState;
  readonly subject?: string;
  readonly issuer?: string;
  readonly notAfter?: string;
  /** Whole days left (negative once expired). */
  readonly daysLeft?: number;
  /** Where it was seen: served by its member on a TLS handshake, or read from its file. */
  readonly source?: 'served' | 'file';
  readonly fingerprint?: string;
  /** Why it could not be read (state `unreadable`). */
  readonly error?: string;
}

export interface ExpiryFinding {
  /** The member it is about; `cluster` for the CA, `verifier` for the client certificate. */
  readonly subject: string;
  readonly message: string;
}

export interface ExpiryVerdict {
  readonly certificates: CertificateReport[];
  readonly problems: ExpiryFinding[];
  readonly warnings: ExpiryFinding[];
}

const DAY_MS = 86_400_000;

const RENEW = 'renew: etcd-cluster pki renew, cdktf synth, etcd-cluster rollout';
const ROTATE = 'replace the CA: etcd-cluster pki rotate-ca (README, "Certificates that expire")';

const USE_WORDS: Record<CertificateFile['use'], string> = {
  ca: 'the CA',
  'server-peer': 'the server and peer certificate',
  server: 'the server certificate',
  client: "the verifier's client certificate",
  upstream: "the grpc-proxies' certificate towards the primaries",
};

/** Judges every certificate against `at`, warning `warnDays` before expiry. */
export function judgeExpiry(o: CertificatesObservation, warnDays: number): ExpiryVerdict {
  const now = Date.parse(o.at);
  const certificates: CertificateReport[] = [];
  const problems: ExpiryFinding[] = [];
  const warnings: ExpiryFinding[] = [];

  const judged = (c: CertificateSeen): Pick<CertificateReport, 'state' | 'daysLeft'> => {
    const left = Date.parse(c.notAfter) - now;
    // Whole days left, negative once expired (at the very second of expiry too).
    return {
      state: left <= 0 ? 'expired' : left < warnDays * DAY_MS ? 'expiring' : 'ok',
      daysLeft: left <= 0 ? Math.min(-1, Math.floor(left / DAY_MS)) : Math.floor(left / DAY_MS),
    };
  };
  const subjectOf = (f: { use: CertificateFile['use']; members: string[] }) =>
    f.use === 'ca' ? 'cluster' : f.use === 'client' ? 'verifier' : f.use === 'upstream' ? f.members.join(', ') : f.members[0];

  for (const f of o.files) {
    const served = f.use === 'server-peer' || f.use === 'server' ? o.served.find((s) => s.member === f.members[0]) : undefined;
    const base = { file: f.name, use: f.use, members: f.members };
    const fromFile = f.certificates ?? [];
    // A member's own certificate as it serves it; its file when it did not answer.
    const shown: { cert: CertificateSeen; source: 'served' | 'file' }[] = served?.certificate
      ? [{ cert: served.certificate, source: 'served' }]
      : fromFile.map((cert) => ({ cert, source: 'file' as const }));
    if (!shown.length) {
      const error = f.error ?? served?.error ?? 'not read';
      certificates.push({ ...base, state: 'unreadable', error });
      if (f.error) warnings.push({ subject: subjectOf(f), message: `certificate ${f.name}: ${f.error}` });
      continue;
    }
    for (const { cert, source } of shown) {
      const j = judged(cert);
      certificates.push({ ...base, ...j, subject: cert.subject, issuer: cert.issuer, notAfter: cert.notAfter, source, fingerprint: cert.fingerprint });
      const what = `${USE_WORDS[f.use]} ${f.name}${shown.length > 1 ? ` (${cert.subject})` : ''}${source === 'served' ? `, served at ${served!.endpoint},` : ''}`;
      const remedy = f.use === 'ca' ? ROTATE : RENEW;
      if (j.state === 'expired') problems.push({ subject: subjectOf(f), message: `${what} expired on ${cert.notAfter}; ${remedy}` });
      else if (j.state === 'expiring')
        warnings.push({ subject: subjectOf(f), message: `${what} expires on ${cert.notAfter}, in ${j.daysLeft} days; ${remedy}` });
    }
    // Renewed but not rolled out: the member still serves the certificate from before.
    if (served?.certificate && fromFile.length && !fromFile.some((c) => c.fingerprint === served.certificate!.fingerprint)) {
      warnings.push({
        subject: f.members[0],
        message: `serves another certificate than ${f.name} (expiring ${served.certificate.notAfter}, the file ${fromFile[0].notAfter}); roll it out: cdktf synth, etcd-cluster rollout`,
      });
    }
  }
  return { certificates, problems, warnings };
}

/** The certificate that expires first, if any was read. */
export function firstToExpire(certs: readonly CertificateReport[]): CertificateReport | undefined {
  return certs.filter((c) => c.notAfter).sort((a, b) => Date.parse(a.notAfter!) - Date.parse(b.notAfter!))[0];
}
