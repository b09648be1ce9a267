/**
 * The one way this package makes an etcd client: one try per call (etcd3's own retry policy and circuit
 * breaker are replaced by cockatiel's no-op), a dial timeout and a per-call deadline. Callers that wait for a
 * cluster retry through retry.ts and must see each failure as it is. Which TLS material, login and deadline
 * a cluster's clients get is decided in one place, the cluster session (session.ts).
 */
import { readFileSync } from 'node:fs';
import { noop } from 'cockatiel';
import { Etcd3, type IOptions } from 'etcd3';
import { InvalidRequest } from './errors';

export interface ConnectOptions {
  /** Dial timeout and per-call deadline, in milliseconds. @default 2000 */
  readonly timeoutMs?: number;
  /** TLS material: paths of the CA certificate and the client's certificate and key. */
  readonly tls?: { ca: string; cert: string; key: string } | null;
  /** etcd RBAC login. */
  readonly auth?: { username: string; password: string };
}

/** Reads TLS material into the etcd3 credentials shape; a missing file is one line naming it. */
export function credentialsFrom(tls: NonNullable<ConnectOptions['tls']>): IOptions['credentials'] {
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch {
      throw new InvalidRequest(`cannot read ${path} (TLS material; see tls.dir)`);
    }
  };
  return { rootCertificate: read(tls.ca), certChain: read(tls.cert), privateKey: read(tls.key) };
}

export function connect(hosts: string | string[], opts: ConnectOptions = {}): Etcd3 {
  const timeout = opts.timeoutMs ?? 2000;
  return new Etcd3({
    hosts,
    dialTimeout: timeout,
    faultHandling: { global: noop, host: () => noop },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    ...(opts.tls ? { credentials: credentialsFrom(opts.tls) } : {}),
    ...(opts.auth ? { auth: opts.auth } : {}),
  });
}

/** An etcd or gRPC error as one short line: grpc wraps the cause in boilerplate ("14 UNAVAILABLE: ... Last error: ..."). */
export function errorText(e: unknown): string {
  const msg = ((e as Error)?.message ?? String(e)).replace(/\s+/g, ' ');
  if (/DEADLINE_EXCEEDED/.test(msg)) return 'no answer before the deadline';
  const cause = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(msg);
  return (cause ? cause[1] : msg).slice(0, 200);
}
