/**
 * Simulated Docker hosts for the multi-host suite, made by scripts/sim-hosts.sh: network namespaces on a
 * shared bridge, each with its own address and its own dockerd.
 */
import { join } from 'node:path';
import { REPO_ROOT, run } from '../helpers/synth';
import { DockerApi } from './docker-api';
import { RUN_TAG } from './env';

const SCRIPT = join(REPO_ROOT, 'scripts', 'sim-hosts.sh');

export interface SimHost {
  readonly name: string;
  readonly address: string;
  /** The host's daemon, as the Docker provider's `host`. */
  readonly docker: string;
}

async function script(args: string[], timeoutMs = 300_000): Promise<string> {
  const r = await run('bash', [SCRIPT, ...args], { timeoutMs });
  if (r.code !== 0) throw new Error(`sim-hosts.sh ${args.join(' ')} failed (${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-10).join('\n')}`);
  return r.stdout;
}

export class SimHosts {
  private constructor(
    readonly tag: string,
    readonly hosts: SimHost[],
  ) {}

  /** `count` hosts on a /24 of 10.213.0.0/16 chosen from this run's tag. */
  static async up(count: number, suffix: string): Promise<SimHosts> {
    const tag = `${RUN_TAG.slice(0, 8 - suffix.length)}${suffix}`;
    // The subnet follows the tag, so that two sets of hosts of one run (or of parallel runs) differ.
    const third = [...tag].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 250, 7);
    const out = await script(['up', tag, String(count), `10.213.${third}`]);
    const hosts = out
      .trim()
      .split('\n')
      .map((line) => {
        const [name, address, docker] = line.split(' ');
        return { name, address, docker };
      });
    if (hosts.length !== count) throw new Error(`sim-hosts.sh made ${hosts.length} hosts, not ${count}: ${out}`);
    return new SimHosts(tag, hosts);
  }

  /** The engines, by provider host, for the applier. */
  engines(): Record<string, DockerApi> {
    return Object.fromEntries(this.hosts.map((h) => [h.docker, new DockerApi(h.docker.slice('unix://'.length))]));
  }

  /** The hosts as a cluster spec lists them. */
  specHosts(): { name: string; docker: string; address: string }[] {
    return this.hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address }));
  }

  /** What a TestCluster's applier needs to deploy here: the engines, and the hosts' addresses to publish on. */
  applierOptions(): { engines: Record<string, DockerApi>; bindAddresses: string[] } {
    return { engines: this.engines(), bindAddresses: this.hosts.map((h) => h.address) };
  }

  /** Tears the cluster down, then the hosts, even when the first fails. */
  async teardown(cluster: { teardown(): Promise<void> } | undefined): Promise<void> {
    try {
      await cluster?.teardown();
    } finally {
      await this.down();
    }
  }

  /** Cuts host i (1-based) off the network, or brings it back. */
  async link(i: number, state: 'up' | 'down'): Promise<void> {
    await script(['link', this.tag, String(i), state]);
  }

  async down(): Promise<void> {
    await script(['down', this.tag]);
  }

  /** Removes the simulated hosts of earlier, crashed runs. */
  static async sweep(): Promise<void> {
    await script(['sweep']);
  }
}
