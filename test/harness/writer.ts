import type { Etcd3 } from 'etcd3';

/**
 * Writes numbered keys as fast as the cluster acknowledges them, until stopped or a bound is reached,
 * and remembers which writes were acknowledged (and when) so a test can check none was lost and how long
 * the longest pause between two acknowledged writes was.
 */
export class Writer {
  readonly acknowledged: string[] = [];
  failures = 0;
  /** Longest time between two acknowledged writes, in milliseconds. */
  longestGapMs = 0;
  /** When the longest pause ended (the acknowledged write after it), in ms since the epoch. */
  longestGapEndedAt = 0;
  /** The failed attempts inside the longest pause: how long each took, and why. */
  longestGapFailures: string[] = [];
  private failuresSinceAck: string[] = [];
  private lastAck = 0;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly maxWrites = 20_000,
    private readonly maxMs = 600_000,
  ) {}

  start(): this {
    const until = Date.now() + this.maxMs;
    this.loop = (async () => {
      for (let n = 0; !this.stopped && n < this.maxWrites && Date.now() < until; n++) {
        const key = `${this.prefix}${String(n).padStart(6, '0')}`;
        const tried = Date.now();
        try {
          await this.client.put(key).value(String(n));
          const now = Date.now();
          if (this.lastAck && now - this.lastAck > this.longestGapMs) {
            this.longestGapMs = now - this.lastAck;
            this.longestGapEndedAt = now;
            this.longestGapFailures = this.failuresSinceAck;
          }
          this.failuresSinceAck = [];
          this.lastAck = now;
          this.acknowledged.push(key);
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

  /** Acknowledged keys that are not in the cluster now. */
  async lost(reader: Etcd3): Promise<string[]> {
    const present = new Set((await reader.getAll().prefix(this.prefix).keys()).map(String));
    return this.acknowledged.filter((k) => !present.has(k));
  }

  /** Stops, and reads back through `reader` what was acknowledged: the figures a test asserts and logs. */
  async finish(reader: Etcd3): Promise<{ acknowledged: number; failures: number; lost: string[]; longestGapMs: number; summary: string }> {
    await this.stop();
    const lost = await this.lost(reader);
    const summary = `writer: ${this.acknowledged.length} acknowledged writes, ${this.failures} failed attempts, ${lost.length} lost, longest gap ${this.longestGapMs} ms${this.longestGapEndedAt ? ` (ended ${new Date(this.longestGapEndedAt).toISOString()}; failed attempts in it: ${this.longestGapFailures.join('; ') || 'none'})` : ''}`;
    return { acknowledged: this.acknowledged.length, failures: this.failures, lost, longestGapMs: this.longestGapMs, summary };
  }
}
