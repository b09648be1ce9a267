/**
 * The verifier: looks at a live cluster (observe.ts) and judges it against its expectation (judge.ts),
 * again and again until it matches or the time is up. Also turns etcd RBAC on for a cluster with `auth`.
 */
import { EtcdRoleExistsError, EtcdUserExistsError } from 'etcd3';
import type { Expectation } from '../contract';
import { errorText } from './etcd-client';
import { etcdCause } from './etcd-errors';
import { ClusterUnreachable, InvalidRequest, MembershipError } from './errors';
import { judge, type JudgeOptions, type Verdict } from './judge';
import { observe, type ObserveOptions } from './observe';
import { retryUntil } from './retry';
import { withSession } from './session';

export type { CertificateReport, MemberReport, MemberState, Problem, Verdict } from './judge';

export interface Report extends Verdict {
  readonly attempts: number;
  readonly elapsedMs: number;
}

export interface VerifyOptions extends ObserveOptions, JudgeOptions {
  /** Give up after this many milliseconds. */
  readonly timeoutMs: number;
  /** Called after every failed attempt that will be retried. */
  readonly onProgress?: (report: Report) => void;
}

/** One look at the live cluster, judged. */
export async function inspectCluster(e: Expectation, opts: ObserveOptions & JudgeOptions = {}): Promise<Verdict> {
  return judge(e, await observe(e, opts), opts);
}

/** Whether a certificate of the cluster has expired: looking again will not change that. */
export const hasExpired = (r: Pick<Verdict, 'certificates'>) => !!r.certificates?.some((c) => c.state === 'expired');

/** Looks until the live cluster matches, or the timeout passes; the last look is the report. */
export async function verifyCluster(e: Expectation, opts: VerifyOptions): Promise<Report> {
  const started = Date.now();
  let attempts = 0;
  return retryUntil(
    async (): Promise<Report> => {
      attempts++;
      return { ...(await inspectCluster(e, opts)), attempts, elapsedMs: Date.now() - started };
    },
    { timeoutMs: opts.timeoutMs, retryResult: (r) => !r.ok && !hasExpired(r), onRetry: ({ value }) => value && opts.onProgress?.(value) },
  );
}

/** Errors worth another try while enabling auth: anything but a refused login. */
class AuthRefused extends Error {}

/**
 * Turns etcd RBAC on, once: creates the root role and user (with the given password) and enables auth.
 * Does nothing when root can already log in. Retries until the cluster answers or the timeout passes.
 */
export async function enableAuth(e: Expectation, opts: VerifyOptions & { password: string }): Promise<'enabled' | 'already enabled'> {
  try {
    return await retryUntil(() => enableAuthOnce(e, opts), { timeoutMs: opts.timeoutMs, retryError: (err) => !(err instanceof AuthRefused) });
  } catch (err) {
    // A refused login is the password's fault (its environment variable); else the cluster did not answer, or refused.
    if (err instanceof AuthRefused) throw new InvalidRequest(err.message);
    const message = `auth: could not enable authentication: ${errorText(err)}`;
    throw etcdCause(err) === 'unreachable' ? new ClusterUnreachable(message) : new MembershipError(message);
  }
}

async function enableAuthOnce(e: Expectation, opts: ObserveOptions & { password: string }): Promise<'enabled' | 'already enabled'> {
  const primaries = e.target.primaries;
  const endpoint = primaries[Math.floor(Math.random() * primaries.length)].endpoint;
  return withSession(e.target, opts, async (s) => {
    const authed = s.client(endpoint);
    const plain = s.client(endpoint, { login: false });
    try {
      await authed.get(`${e.verifyPrefix}auth-check`).string();
      return 'already enabled';
    } catch (err) {
      if (/authentication failed|invalid user ID or password/.test(errorText(err))) throw new AuthRefused(`auth: root cannot log in: ${errorText(err)}`);
      if (!/authentication is not enabled/.test(errorText(err))) throw err;
    }
    await plain
      .role('root')
      .create()
      .catch((err) => {
        if (!(err instanceof EtcdRoleExistsError)) throw err;
      });
    await plain
      .user('root')
      .create(opts.password)
      .catch((err) => {
        if (!(err instanceof EtcdUserExistsError)) throw err;
      });
    await plain.user('root').addRole('root');
    await plain.auth.authEnable();
    return 'enabled';
  });
}
