import type { Etcd3 } from 'etcd3';

/** Whether a write through this client is accepted: `accepted`, or `refused: <why>`. Closes the client. */
export async function putOutcome(client: Etcd3, key: string, value = 'x'): Promise<string> {
  try {
    await client.put(key).value(value);
    return 'accepted';
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    client.close();
  }
}

/**
 * What each refusal looks like from a Node client (etcd3 over grpc-js over OpenSSL), by its cause: a test of a
 * refusal matches the one it means, so that a timeout, a wrong port or a member that is down does not pass
 * as "refused". grpc-js reports a failed connection as `14 UNAVAILABLE: No connection established. Last error:
 * <the socket's error>`; a TLS alert from the server reads as OpenSSL's reason, e.g. `... ssl3_read_bytes:tlsv13
 * alert certificate required: ... SSL alert number 116`.
 */
export const REFUSED_FOR = {
  /**
   * A TLS client without a certificate, at a member that requires one: Go's server sends `certificate
   * required` (TLS 1.3, what Node and etcd agree on) or `bad certificate` (TLS 1.2).
   */
  noClientCertificate: /alert certificate required|alert bad certificate/,
  /**
   * A client certificate from a CA the member does not trust: Go (1.21 and later) sends `unknown ca`; older Go
   * sent `bad certificate`.
   */
  unknownAuthority: /alert unknown ca|alert bad certificate/,
  /**
   * A plaintext HTTP/2 client at a TLS listener: Go's TLS server reads the client's preface as a record that
   * is no TLS handshake and closes the connection without an answer, so the client's connection ends before
   * the HTTP/2 handshake (reset, or closed: grpc-js's "Failed to connect"), never refused at the TCP level
   * (ECONNREFUSED: nothing listens) nor a deadline (nothing answers).
   */
  plaintextAtTls:
    /Last error: (?:Error: )?(?:read ECONNRESET|Failed to connect|Connection closed before starting HTTP\/2 handshake|Protocol error|socket hang up)/,
  /** A request without a login, at a cluster with authentication on (etcd's own errors). */
  unauthenticated: /user name is empty|permission denied|user name not found/,
  /** A login with a wrong password. */
  wrongPassword: /authentication failed, invalid user ID or password/,
} as const;

/** `refused: ` followed by the cause, as `putOutcome` reports a refusal. */
export const refusedFor = (cause: keyof typeof REFUSED_FOR): RegExp => new RegExp(`^refused: [\\s\\S]*(?:${REFUSED_FOR[cause].source})`);
