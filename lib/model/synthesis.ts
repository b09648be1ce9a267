/**
 * What synthesis of a topology needs decided besides the members themselves, as plain data: the advice it
 * gives (warnings), the certificates it checks (a bad one is a synth-time error) and the files of this
 * machine that become assets of the stack, under which scope, with which content hash. `EtcdCluster`
 * renders this; it decides none of it.
 *
 * Files reach Terraform as assets, copied into the stack directory and named relative to it: no path of
 * this machine enters the configuration, and the private keys never enter the JSON, the plan or the state.
 * TLS files are under `pki/<file>`, a restore's snapshot under `restore/<file>`.
 */
import { basename } from 'node:path';
import { SpecError } from './messages';
import { checkPki, PkiError } from './pki';
import type { Topology } from './topology';

/** A file of the deploying machine that becomes an asset of the stack. */
export interface AssetFile {
  /** Its path on the deploying machine. */
  readonly source: string;
  /** The construct scope the asset lives under (`pki`, `restore`), and its ID there. */
  readonly scope: 'pki' | 'restore';
  readonly id: string;
  /** SHA-256 of its content, for the provider's `source_hash` (certificates and keys; none for a snapshot). */
  readonly hash?: string;
}

export interface Synthesis {
  /** Advice for the user (cdktf warnings on the cluster construct), in order. */
  readonly warnings: string[];
  /** Every file the configuration names, in the order the cluster first names it. */
  readonly files: AssetFile[];
}

/** Decides what synthesis of this topology needs; checks its certificates (a `SpecError` when one is bad). */
export function synthesisOf(t: Topology): Synthesis {
  const hashes = certificateHashes(t);
  // The order the cluster names them: the verifier's files (expectation, member operations), then each
  // primary's snapshot and own files, the secondaries', the backup container's.
  const sources = [
    ...(t.tls ? [t.tls.ca, t.tls.clientCert, t.tls.clientKey] : []),
    ...t.primaries.flatMap((p) => [...(p.restore ? [p.restore.upload.source] : []), ...p.uploads.map((u) => u.source)]),
    ...t.secondaries.flatMap((s) => s.uploads.map((u) => u.source)),
    ...(t.backup?.uploads.map((u) => u.source) ?? []),
  ];
  const files = [...new Set(sources)].map((source): AssetFile => ({
    source,
    scope: t.restore && source === t.restore.snapshot ? 'restore' : 'pki',
    id: basename(source),
    ...(hashes[source] !== undefined ? { hash: hashes[source] } : {}),
  }));
  return { warnings: warningsOf(t), files };
}

/** Checks every certificate and key synthesis delivers; their content hashes by path. */
function certificateHashes(t: Topology): Record<string, string> {
  if (!t.tls) return {};
  let pki;
  try {
    pki = checkPki(t.tls.dir, t.tls.nodes);
  } catch (e) {
    throw e instanceof PkiError ? new SpecError(e.message) : e;
  }
  const hashes: Record<string, string> = { [pki.ca]: pki.caHash, [pki.upstream.cert]: pki.upstream.certHash, [pki.upstream.key]: pki.upstream.keyHash };
  for (const pair of [pki.client, ...Object.values(pki.nodes)]) Object.assign(hashes, { [pair.cert]: pair.certHash, [pair.key]: pair.keyHash });
  return hashes;
}

/** Advice: what the spec allows but a user should know. */
export function warningsOf(t: Topology): string[] {
  const warnings: string[] = [];
  if (t.auth && !t.tls) warnings.push('auth: passwords and tokens travel in plaintext without TLS (set tls.dir)');
  const bind = t.primaries[0].port.ip;
  if (!t.tls && t.hosts.length) {
    warnings.push(
      'hosts: members publish client and peer ports on their host addresses without TLS; anyone who reaches them can read and write everything, or join as a peer (set tls.dir)',
    );
  } else if (!t.tls && bind !== '127.0.0.1') {
    warnings.push(
      `ports.bindAddress: ${bind} exposes the cluster beyond loopback without TLS; anyone who reaches it can read and write everything (set tls.dir)`,
    );
  }
  if (t.primaries.length >= 7) {
    warnings.push(
      `primaries: ${t.primaries.length} voters tolerate ${(t.primaries.length - 1) / 2} failures, but every write waits for ${(t.primaries.length + 1) / 2} of them; etcd recommends 5 and at most 7`,
    );
  }
  return warnings;
}
