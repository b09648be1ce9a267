/**
 * Follows the logs of every container of a cluster, each from its start to its end: a rollout replaces
 * containers, and what a replaced one logged is gone with it unless someone was reading. A test then asks
 * for the lines that match, e.g. TLS handshake failures between members.
 */
import { request, type ClientRequest } from 'node:http';
import { LABEL_CLUSTER } from '../../lib/model';
import type { DockerApi } from './docker-api';
import { frames } from '../../lib/runtime/docker';

interface Followed {
  readonly name: string;
  readonly id: string;
  readonly chunks: Buffer[];
  readonly req: ClientRequest;
  /** When its log stream ended (the container stopped), in ms since the epoch. */
  ended?: number;
}

export class LogWatch {
  private readonly followed = new Map<string, Followed>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly docker: DockerApi,
    private readonly cluster: string,
  ) {}

  /** Starts following every container of the cluster, and each new one as it appears (looked for every 500 ms). */
  async start(): Promise<this> {
    await this.poll();
    this.timer = setInterval(() => void this.poll().catch(() => undefined), 500);
    return this;
  }

  private async poll(): Promise<void> {
    const all = await this.docker.listByLabel('containers', LABEL_CLUSTER);
    for (const c of all.filter((x) => x.Labels?.[LABEL_CLUSTER] === this.cluster)) {
      if (this.followed.has(c.Id)) continue;
      const chunks: Buffer[] = [];
      const req = request({ socketPath: this.docker.socketPath, method: 'GET', path: `/containers/${c.Id}/logs?follow=1&stdout=1&stderr=1` }, (res) => {
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => (f.ended = Date.now()));
      });
      req.on('error', () => undefined);
      req.end();
      const f: Followed = { name: String(c.Names?.[0] ?? c.Id).replace(/^\//, ''), id: c.Id, chunks, req };
      this.followed.set(c.Id, f);
    }
  }

  /** Stops following. */
  stop(): void {
    clearInterval(this.timer);
    for (const f of this.followed.values()) f.req.destroy();
  }

  /** How many containers were followed (each replacement is one more). */
  get containers(): number {
    return this.followed.size;
  }

  /** When the log stream of the container with this ID (12 digits or more) ended, i.e. it stopped; undefined while it runs. */
  endedAt(id: string): number | undefined {
    return [...this.followed.values()].find((f) => f.id.startsWith(id))?.ended;
  }

  /** When each container of this name that stopped stopped (its log stream ended), in ms since the epoch. */
  endsOf(name: string): number[] {
    return [...this.followed.values()].filter((f) => f.name === name && f.ended !== undefined).map((f) => f.ended!);
  }

  /** Every line logged so far that matches, as `<container> <ID, 12 digits>: <line>`. */
  matching(re: RegExp): string[] {
    return [...this.followed.values()].flatMap((f) =>
      demultiplex(Buffer.concat(f.chunks))
        .split('\n')
        .filter((l) => re.test(l))
        .map((l) => `${f.name} ${f.id.slice(0, 12)}: ${l}`),
    );
  }
}

/** Docker's multiplexed stream as text, stdout and stderr in the order they came (the runtime's one demultiplexer). */
function demultiplex(raw: Buffer): string {
  return frames(raw)
    .map((f) => f.text)
    .join('');
}
