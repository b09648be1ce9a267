/**
 * Simulated Docker hosts for the multi-host suite, made by scripts/sim-hosts.sh: network namespaces on a
 * shared bridge, each with its own address and its own dockerd.
 */
import { join } from 'node:path';
import { REPO_ROOT, run } from '../helpers/synth';
import { DockerApi } from './docker-api';
import { claim, RUN_TAG, tagHash } from './env';

const SCRIPT = join(REPO_ROOT, 'scripts', 'sim-hosts.sh');

export interface SimHost {
  readonly name: string;
  readonly address: string;
  /** The host's daemon, as the Docker provider's `host`: `unix://<socket>`, or `ssh://root@<address>`. */
  readonly docker: string;
  /** For an ssh host: the provider's `ssh_opts` (the run's key, no host key prompts). */
  readonly sshOpts: string[];
  /** The daemon's own socket, for the tests' direct look (whatever way the provider reaches it). */
  readonly socket: string;
}

async function script(args: string[], timeoutMs = 300_000): Promise<string> {
  const r = await run('bash', [SCRIPT, ...args], { timeoutMs, env: { SIM_OWNER_PID: String(process.pid) } });
  if (r.code !== 0) throw new Error(`sim-hosts.sh ${args.join(' ')} failed (${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-10).join('\n')}`);
  return r.stdout;
}

export class SimHosts {
  private constructor(
    readonly tag: string,
    readonly hosts: SimHost[],
  ) {}

  /**
   * `count` hosts on a /24 of 10.213.0.0/16 chosen from this run's tag; the hosts numbered in `ssh`
   * (1-based) are reached over ssh (an sshd in their namespace), the others through their socket.
   */
  static async up(count: number, suffix: string, opts: { ssh?: number[] } = {}): Promise<SimHosts> {
    const tag = `${RUN_TAG.slice(0, 8 - suffix.length)}${suffix}`;
    // The subnet starts from the tag's hash and is claimed (a lock file, like the test ports and subnets),
    // so that two sets of hosts of one run, or of two runs on one machine, never share one.
    const start = tagHash(tag, 250);
    const free = Array.from({ length: 250 }, (_, k) => (start + k) % 250).find((n) => claim(`simhosts-10.213.${n}`));
    if (free === undefined) throw new Error('no free subnet of 10.213.0.0/16 for simulated hosts: every one is claimed by a live run');
    const third = free;
    const out = await script(['up', tag, String(count), `10.213.${third}`, ...(opts.ssh?.length ? [opts.ssh.join(',')] : [])]);
    const hosts = out
      .trim()
      .split('\n')
      .map((line, k): SimHost => {
        const [name, address, docker, key] = line.split(' ');
        const socket = `/run/cdktf-etcd-sim/${tag}/h${k + 1}/docker.sock`;
        const sshOpts = key
          ? ['-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes']
          : [];
        return { name, address, docker, sshOpts, socket };
      });
    if (hosts.length !== count) throw new Error(`sim-hosts.sh made ${hosts.length} hosts, not ${count}: ${out}`);
    return new SimHosts(tag, hosts);
  }

  /** Host i's daemon (0-based), for the tests' own look at it. */
  engine(i: number): DockerApi {
    return new DockerApi(this.hosts[i].socket);
  }

  /** The hosts as a cluster spec lists them. */
  specHosts(): { name: string; docker: string; address: string; sshOpts?: string[] }[] {
    return this.hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address, ...(h.sshOpts.length ? { sshOpts: h.sshOpts } : {}) }));
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

  /** Loads an image of this machine's engine into every host (as a registry would give it to them). */
  async load(image: string): Promise<void> {
    await script(['load', this.tag, image]);
  }

  /** An S3-compatible store (SeaweedFS) on host i (1-based) with one identity and one bucket; its URL. */
  async s3(i: number, keyId: string, secret: string, bucket: string): Promise<string> {
    return (await script(['s3', this.tag, String(i), keyId, secret, bucket])).trim();
  }

  async down(): Promise<void> {
    await script(['down', this.tag]);
  }

  /** Removes the simulated hosts of earlier, crashed runs. */
  static async sweep(): Promise<void> {
    await script(['sweep']);
  }
}
