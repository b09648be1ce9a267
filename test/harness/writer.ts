import type { Etcd3 } from 'etcd3';

/**
 * Writes numbered keys as fast as the cluster acknowledges them, until stopped or a bound is reached,
 * and remembers which writes were acknowledged so a test can check none was lost.
 */
export class Writer {
  readonly acknowledged: string[] = [];
  failures = 0;
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
        try {
          await this.client.put(key).value(String(n));
          this.acknowledged.push(key);
        } catch {
          this.failures++;
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
}
