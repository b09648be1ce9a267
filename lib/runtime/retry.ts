/**
 * The one retry policy of the runtime: try, wait (exponential backoff, no jitter), try again, until the
 * attempt succeeds or the time is up. Built on cockatiel. What counts as "try again" is the caller's:
 * a result (`retryResult`) or an error (`retryError`); any other error ends the wait at once.
 */
import { ExponentialBackoff, handleWhen, noJitterGenerator, retry } from 'cockatiel';

export interface RetryOptions<T> {
  /** Give up after about this long: the last attempt's result is returned, or its error thrown. */
  readonly timeoutMs: number;
  /** First wait between attempts. @default 50 */
  readonly initialDelayMs?: number;
  /** Longest wait between attempts. @default 250 */
  readonly maxDelayMs?: number;
  /** Try again when an attempt returned this. */
  readonly retryResult?: (result: T) => boolean;
  /** Try again when an attempt threw this; others are thrown at once. @default - never */
  readonly retryError?: (error: Error) => boolean;
  /** Called before each wait, with the attempt that will be retried. */
  readonly onRetry?: (outcome: { value?: T; error?: Error }) => void;
}

export async function retryUntil<T>(attempt: () => Promise<T>, opts: RetryOptions<T>): Promise<T> {
  const maxDelay = opts.maxDelayMs ?? 250;
  const policy = retry(
    handleWhen((e) => opts.retryError?.(e) ?? false).orWhenResult((r) => opts.retryResult?.(r as T) ?? false),
    {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({ initialDelay: opts.initialDelayMs ?? 50, maxDelay, generator: noJitterGenerator }),
    },
  );
  // The policy stops after the first failed attempt that ends once the signal has fired; firing one wait
  // early keeps the last attempt from starting after the deadline.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, opts.timeoutMs - maxDelay));
  const listener = policy.onRetry((r) => opts.onRetry?.('error' in r ? { error: r.error } : { value: r.value as T }));
  try {
    return await policy.execute(() => attempt(), stop.signal);
  } finally {
    clearTimeout(timer);
    listener.dispose();
  }
}

/** A pause, for the few waits that are not retries (a grace period for a voter). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
