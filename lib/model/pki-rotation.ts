/**
 * A CA rollover, as the PKI directory shows it: which phase it is in, read from its files alone, and what
 * each phase command requires of the directory and of the live containers. etcd reloads a leaf certificate
 * and key on every new connection, but reads its trusted CA file only at start, so a new CA reaches a
 * running cluster in three rolls, each safe in any order of members:
 *
 *   phase 0  one CA                  `ca.crt` = the CA, `ca.key` its key
 *   -> `pki rotate-ca trust-new`     a new CA (`ca-new.crt`/`.key`); `ca.crt` = old + new. Roll: every member
 *                                    and client trusts both, every certificate is still from the old CA.
 *   phase 1  trusting the new CA
 *   -> `pki rotate-ca reissue`       needs every container to trust the new CA. Members' and clients'
 *                                    certificates from the new CA (new keys); `ca.key` = the new key, the old
 *                                    CA kept as `ca-old.crt`/`.key`. Roll: every certificate from the new CA.
 *   phase 2  reissued from the new CA
 *   -> `pki rotate-ca drop-old`      needs every container's certificates from the new CA. `ca.crt` = the
 *                                    new CA alone; `ca-old.key` deleted (`ca-old.crt` stays). Roll.
 *   phase 0  one CA (the new one)
 *
 * Pure apart from reading the directory (node:crypto); the runtime makes the certificates and reads what the
 * containers hold (lib/runtime/pki.ts, through lib/runtime/docker.ts).
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostOf } from './expectation';
import { CA_CERT, CA_KEY, CA_NEW_CERT, CA_NEW_KEY, CA_OLD_CERT, CA_OLD_KEY, caCertificates, IN_CONTAINER, issuedBy, PKI_MOUNT, PkiError } from './pki';
import type { Topology } from './topology';

export type RotationPhase = 0 | 1 | 2;

export const PHASE_NAMES: Record<RotationPhase, string> = {
  0: 'one CA',
  1: 'phase 1 of a CA rollover: both CAs trusted, certificates from the old CA',
  2: 'phase 2 of a CA rollover: both CAs trusted, certificates from the new CA',
};

/** The phase commands, in order, and the phase each needs. */
export const ROTATION_STEPS = [
  { command: 'trust-new', from: 0, to: 1 },
  { command: 'reissue', from: 1, to: 2 },
  { command: 'drop-old', from: 2, to: 0 },
] as const;

export type RotationCommand = (typeof ROTATION_STEPS)[number]['command'];

/** A CA as people tell them apart: its subject, the start of its SHA-256 fingerprint, and its expiry. */
export interface CaSummary {
  readonly subject: string;
  readonly fingerprint: string;
  readonly notAfter: string;
}

export interface PkiState {
  readonly dir: string;
  readonly phase: RotationPhase;
  /** The CA certificates of `ca.crt`, in order: what members and clients trust. */
  readonly trusted: X509Certificate[];
  /** The CA `ca.key` belongs to: the one that issues certificates now. */
  readonly issuing: X509Certificate;
  /** The new CA of a rollover (phase 1: ca-new.crt; phase 2: the issuing one). */
  readonly newCa?: X509Certificate;
  /** The old CA (phase 1: the issuing one; phase 2 and after a rollover: ca-old.crt). */
  readonly oldCa?: X509Certificate;
}

export const fingerprintOf = (c: X509Certificate) => createHash('sha256').update(c.raw).digest('hex').slice(0, 16);

export function summaryOf(c: X509Certificate): CaSummary {
  return { subject: (c.subject ?? '').replace(/\n/g, ', '), fingerprint: fingerprintOf(c), notAfter: new Date(c.validTo).toISOString() };
}

const sameCert = (a: X509Certificate | undefined, b: X509Certificate | undefined) => !!a && !!b && a.raw.equals(b.raw);

function keyMatches(cert: X509Certificate, keyPath: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath)));
  } catch {
    return false;
  }
}

function readCa(dir: string, file: string): X509Certificate | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  return caCertificates(readFileSync(path), path)[0];
}

/**
 * The directory's phase, from its files. Throws a PkiError (one line) when it has no CA, or files that fit
 * no phase (a rollover interrupted by hand), saying what does not fit.
 */
export function readPkiState(dir: string): PkiState {
  const caPath = join(dir, CA_CERT);
  const keyPath = join(dir, CA_KEY);
  if (!existsSync(caPath) || !existsSync(keyPath)) {
    throw new PkiError(`${dir}: has no ${existsSync(caPath) ? CA_KEY : CA_CERT}; make the CA first: etcd-cluster pki --spec <spec>`);
  }
  const trusted = caCertificates(readFileSync(caPath), caPath);
  const issuing = trusted.find((c) => keyMatches(c, keyPath));
  if (!issuing) throw new PkiError(`${dir}: ${CA_KEY} belongs to none of the CA certificates in ${CA_CERT}`);
  const has = (f: string) => existsSync(join(dir, f));
  const other = trusted.find((c) => c !== issuing);
  const inconsistent = (what: string) =>
    new PkiError(`${dir}: fits no phase of a CA rollover: ${what}; restore the files of the last phase (etcd-cluster pki status shows the phases)`);
  if (trusted.length > 2) throw inconsistent(`${CA_CERT} holds ${trusted.length} CA certificates (at most 2: the old and the new)`);
  if (trusted.length === 1) {
    if (has(CA_NEW_CERT) || has(CA_NEW_KEY)) throw inconsistent(`${CA_NEW_CERT} or ${CA_NEW_KEY} is present but ${CA_CERT} trusts one CA`);
    if (has(CA_OLD_KEY)) throw inconsistent(`${CA_OLD_KEY} is present but ${CA_CERT} trusts one CA`);
    const retired = readCa(dir, CA_OLD_CERT);
    return { dir, phase: 0, trusted, issuing, ...(retired && !sameCert(retired, issuing) ? { oldCa: retired } : {}) };
  }
  if (has(CA_NEW_CERT) || has(CA_NEW_KEY)) {
    const newCa = readCa(dir, CA_NEW_CERT);
    if (!newCa || !has(CA_NEW_KEY)) throw inconsistent(`only one of ${CA_NEW_CERT} and ${CA_NEW_KEY} is present`);
    if (!sameCert(newCa, other)) throw inconsistent(`${CA_NEW_CERT} is not the second CA of ${CA_CERT}`);
    if (!keyMatches(newCa, join(dir, CA_NEW_KEY))) throw inconsistent(`${CA_NEW_KEY} does not belong to ${CA_NEW_CERT}`);
    if (has(CA_OLD_KEY)) throw inconsistent(`both ${CA_NEW_KEY} and ${CA_OLD_KEY} are present`);
    return { dir, phase: 1, trusted, issuing, newCa, oldCa: issuing };
  }
  const oldCa = readCa(dir, CA_OLD_CERT);
  if (!oldCa || !has(CA_OLD_KEY))
    throw inconsistent(`${CA_CERT} trusts two CAs, but neither ${CA_NEW_CERT} (phase 1) nor ${CA_OLD_CERT} with its key (phase 2) is here`);
  if (!sameCert(oldCa, other)) throw inconsistent(`${CA_OLD_CERT} is not the second CA of ${CA_CERT}`);
  return { dir, phase: 2, trusted, issuing, newCa: issuing, oldCa };
}

/** What to run next in this phase, as a sentence. */
export function nextStep(phase: RotationPhase): string {
  if (phase === 1) return 'roll it out (cdktf synth, etcd-cluster rollout), then: etcd-cluster pki rotate-ca reissue';
  if (phase === 2) return 'roll it out (cdktf synth, etcd-cluster rollout), then: etcd-cluster pki rotate-ca drop-old';
  return 'etcd-cluster pki rotate-ca trust-new starts a rollover to a new CA';
}

/** Why this phase command must not run on a directory in this phase (one line), or undefined when it may. */
export function outOfOrder(command: RotationCommand, phase: RotationPhase): string | undefined {
  const step = ROTATION_STEPS.find((s) => s.command === command)!;
  if (step.from === phase) return undefined;
  const now = phase === 0 ? 'holds one CA: no rollover is under way' : `is in ${PHASE_NAMES[phase]}`;
  const needs = step.from === 0 ? 'trust-new starts a rollover when none is under way' : `${command} needs phase ${step.from}`;
  return `pki rotate-ca ${command}: the PKI directory ${now}; ${needs}. Next: ${nextStep(phase)}`;
}

// --- What the live containers hold ------------------------------------------------------------------------

/** A container that holds certificates of the cluster, where it runs, and which of them it holds. */
export interface PkiContainer {
  readonly name: string;
  /** Its Docker host; null: the deploying machine's default. */
  readonly docker: { readonly host: string; readonly sshOpts: string[] } | null;
  /** Paths inside the container: the CA bundle first, then its certificates. */
  readonly files: string[];
}

/** Every container of the topology that gets certificates: primaries, secondaries, the backup container. */
export function pkiContainersOf(t: Topology): PkiContainer[] {
  const nodes = [...t.primaries, ...t.secondaries, ...(t.backup ? [t.backup] : [])];
  return nodes
    .map((n) => ({
      name: n.name,
      docker: hostOf(t, n),
      files: n.uploads.map((u) => u.file).filter((f) => f.startsWith(`${PKI_MOUNT}/`) && f.endsWith('.crt')),
    }))
    .filter((c) => c.files.length > 0);
}

/** What one container held when asked: its files' PEM text by path (null: not there), or that it does not exist. */
export interface ContainerFiles {
  readonly name: string;
  /** No container of this name on its host (not deployed, or removed). */
  readonly absent?: boolean;
  readonly files?: Record<string, string | null>;
  /** Why it could not be read. */
  readonly error?: string;
}

/** One container's trust and certificates, in the words of this rollover. */
export interface LiveTrust {
  readonly container: string;
  /** `absent`, `unreadable`, or what it holds. */
  readonly state: 'read' | 'absent' | 'unreadable';
  /** The CAs its bundle holds: `old CA`, `new CA`, `CA` (outside a rollover), `unknown CA <fingerprint>`. */
  readonly trusts: string[];
  /** Who issued each of its certificates, by file inside the container. */
  readonly issuedBy: Record<string, string>;
  readonly error?: string;
}

const names = (l: LiveTrust[]) => l.map((x) => x.container).join(', ');

/** Names the CAs of this state: in a rollover `old CA` and `new CA`; else `CA`, and `retired CA` for the last rollover's old one. */
function caNames(s: PkiState): [X509Certificate, string][] {
  if (s.phase === 0) return [[s.issuing, 'CA'], ...(s.oldCa ? [[s.oldCa, 'retired CA'] as [X509Certificate, string]] : [])];
  return [
    [s.oldCa!, 'old CA'],
    [s.newCa!, 'new CA'],
  ];
}

/** Each container's trust and certificates, named for this state. */
export function liveTrustOf(s: PkiState, seen: ContainerFiles[]): LiveTrust[] {
  const names = caNames(s);
  const nameOf = (c: X509Certificate) => names.find(([ca]) => sameCert(ca, c))?.[1] ?? `unknown CA ${fingerprintOf(c)}`;
  return seen.map((c): LiveTrust => {
    if (c.absent) return { container: c.name, state: 'absent', trusts: [], issuedBy: {} };
    if (c.error || !c.files) return { container: c.name, state: 'unreadable', trusts: [], issuedBy: {}, error: c.error ?? 'nothing read' };
    try {
      const bundle = c.files[IN_CONTAINER.ca];
      const cas = bundle ? caCertificates(bundle, `${c.name}:${IN_CONTAINER.ca}`) : [];
      const issued: Record<string, string> = {};
      for (const [path, pem] of Object.entries(c.files)) {
        if (path === IN_CONTAINER.ca || pem === null) continue;
        const cert = new X509Certificate(pem);
        const by = [...names.map(([ca]) => ca), ...cas].find((ca) => issuedBy(cert, ca));
        issued[path] = by ? nameOf(by) : `a CA it does not trust (${cert.issuer.replace(/\n/g, ', ')})`;
      }
      return { container: c.name, state: 'read', trusts: cas.map(nameOf), issuedBy: issued };
    } catch (e) {
      return { container: c.name, state: 'unreadable', trusts: [], issuedBy: {}, error: (e as Error).message };
    }
  });
}

/**
 * Why the live containers are not ready for this phase command (one line), or undefined. `reissue` needs
 * every container to trust the new CA (phase 1 rolled out); `drop-old` needs every certificate in every
 * container to come from the new CA (phase 2 rolled out). A container that does not exist gets the files of
 * the directory when it is created, so it holds nothing back; one that cannot be read does.
 */
export function notRolledOut(command: RotationCommand, live: LiveTrust[]): string | undefined {
  const unreadable = live.filter((l) => l.state === 'unreadable');
  if (unreadable.length) {
    return `pki rotate-ca ${command}: cannot read the certificates of ${unreadable.map((l) => `${l.container} (${l.error})`).join(', ')}; nothing changed`;
  }
  const read = live.filter((l) => l.state === 'read');
  const roll = 'roll the last phase out first (cdktf synth, etcd-cluster rollout); nothing changed';
  if (command === 'reissue') {
    const behind = read.filter((l) => !l.trusts.includes('new CA'));
    if (behind.length) return `pki rotate-ca reissue: ${names(behind)} ${behind.length === 1 ? 'does' : 'do'} not trust the new CA yet; ${roll}`;
  }
  if (command === 'drop-old') {
    const behind = read.filter((l) => Object.values(l.issuedBy).some((by) => by !== 'new CA'));
    if (behind.length)
      return `pki rotate-ca drop-old: ${names(behind)} still ${behind.length === 1 ? 'presents' : 'present'} certificates of the old CA; ${roll}`;
  }
  return undefined;
}
