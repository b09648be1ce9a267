import type { Etcd3 } from 'etcd3';

/** What `Writer.finish` reads back: the figures a test asserts and logs. */
export interface WriterResult {
  acknowledged: number;
  failures: number;
  lost: string[];
  longestGapMs: number;
  /** When the first and the last write were acknowledged, in ms since the epoch (0: none was). */
  firstAckAt: number;
  lastAckAt: number;
  summary: string;
}

/**
 * Writes numbered keys as fast as the cluster acknowledges them, until stopped, and remembers which writes
 * were acknowledged (and when) so a test can check none was lost, that writes went on after the change it
 * watched ended, and how long the longest pause between two acknowledged writes was.
 *
 * It never ends by itself: a writer that quietly stopped after a bound would leave the later changes of a
 * suite with no writer at all while "nothing lost" still passed. The one bound left (`maxMs`, 30 minutes by
 * default, longer than any suite) only guards a run that forgot to stop it, and makes `finish` and
 * `continuedAfter` throw.
 */
export class Writer {
  readonly acknowledged: string[] = [];
  /** When each acknowledged write was acknowledged (ms since the epoch), in the same order. */
  readonly ackTimes: number[] = [];
  failures = 0;
  /** Longest time between two acknowledged writes, in milliseconds. */
  longestGapMs = 0;
  /** When the longest pause ended (the acknowledged write after it), in ms since the epoch. */
  longestGapEndedAt = 0;
  /** The failed attempts inside the longest pause: how long each took, and why. */
  longestGapFailures: string[] = [];
  /** When the first and the last write were acknowledged, in ms since the epoch (0: none yet). */
  firstAckAt = 0;
  lastAckAt = 0;
  /** Why the loop ended on its own (its safety bound); undefined while it runs or after `stop`. */
  ended?: string;
  private failuresSinceAck: string[] = [];
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly maxMs = 1_800_000,
  ) {}

  start(): this {
    const started = Date.now();
    this.loop = (async () => {
      for (let n = 0; !this.stopped; n++) {
        if (Date.now() - started > this.maxMs) {
          this.ended = `the writer under ${this.prefix} hit its safety bound of ${this.maxMs / 60_000} min before it was stopped (${this.acknowledged.length} acknowledged writes): stop it at the end of the suite, or give it a longer bound`;
          return;
        }
        const key = `${this.prefix}${String(n).padStart(6, '0')}`;
        const tried = Date.now();
        try {
          await this.client.put(key).value(String(n));
          const now = Date.now();
          if (this.lastAckAt && now - this.lastAckAt > this.longestGapMs) {
            this.longestGapMs = now - this.lastAckAt;
            this.longestGapEndedAt = now;
            this.longestGapFailures = this.failuresSinceAck;
          }
          this.failuresSinceAck = [];
          if (!this.firstAckAt) this.firstAckAt = now;
          this.lastAckAt = now;
          this.acknowledged.push(key);
          this.ackTimes.push(now);
        } catch (err) {
          this.failures++;
          this.failuresSinceAck.push(
            `${Date.now() - tried} ms: ${String((err as Error).message)
              .split('\n')[0]
              .slice(0, 160)}`,
          );
          await new Promise((r) => setTimeout(r, 50));
        }
        if (n % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /**
   * Waits until a write is acknowledged after `t` (ms since the epoch): the proof that the writer ran through
   * whatever ended at `t`, not only before it. Throws when none is within `timeoutMs`, or the writer ended.
   */
  async continuedAfter(t: number, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.lastAckAt <= t) {
      if (this.ended) throw new Error(this.ended);
      if (this.stopped) throw new Error(`the writer under ${this.prefix} was stopped before it wrote after ${new Date(t).toISOString()}`);
      if (Date.now() > until)
        throw new Error(
          `the writer under ${this.prefix} had no write acknowledged in the ${timeoutMs / 1000} s after ${new Date(t).toISOString()} (last at ${this.lastAckAt ? new Date(this.lastAckAt).toISOString() : 'never'}; ${this.failures} failed attempts)`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Acknowledged keys that are not in the cluster now. */
  async lost(reader: Etcd3): Promise<string[]> {
    const present = new Set((await reader.getAll().prefix(this.prefix).keys()).map(String));
    return this.acknowledged.filter((k) => !present.has(k));
  }

  /**
   * Stops, and reads back through `reader` what was acknowledged. Throws when the writer had ended on its
   * own before: what it claims would not cover the whole of the test.
   */
  async finish(reader: Etcd3): Promise<WriterResult> {
    await this.stop();
    if (this.ended) throw new Error(this.ended);
    const lost = await this.lost(reader);
    const at = (ms: number) => (ms ? new Date(ms).toISOString() : 'never');
    const window = `acknowledged from ${at(this.firstAckAt)} to ${at(this.lastAckAt)} (${((this.lastAckAt - this.firstAckAt) / 1000).toFixed(1)} s)`;
    const summary = `writer: ${this.acknowledged.length} acknowledged writes, ${this.failures} failed attempts, ${lost.length} lost, ${window}, longest gap ${this.longestGapMs} ms${this.longestGapEndedAt ? ` (ended ${at(this.longestGapEndedAt)}; failed attempts in it: ${this.longestGapFailures.join('; ') || 'none'})` : ''}`;
    return {
      acknowledged: this.acknowledged.length,
      failures: this.failures,
      lost,
      longestGapMs: this.longestGapMs,
      firstAckAt: this.firstAckAt,
      lastAckAt: this.lastAckAt,
      summary,
    };
  }
}

/**
 * The end of a "nothing lost while X" claim: the writer acknowledged a write after X ended (`ended`), then
 * stops and reads back through `reader`; the summary (count and window) goes to `say`. The caller asserts
 * `lost` and `lastAckAt > ended` on what this returns, beside its own figures.
 */
export async function finishAfter(writer: Writer, reader: Etcd3, ended: number, say: (line: string) => void): Promise<WriterResult & { ended: number }> {
  await writer.continuedAfter(ended);
  const w = await writer.finish(reader);
  say(
    `${w.summary}; the change under it ended ${new Date(ended).toISOString()}, the last acknowledged write ${((w.lastAckAt - ended) / 1000).toFixed(1)} s later`,
  );
  return { ...w, ended };
}
