/**
 * The few questions the runtime asks a Docker host, reached the way the Docker provider reaches it:
 * `unix://...`, `tcp://...` (plain HTTP) or `ssh://user@host` (through the `ssh` command and the remote
 * `docker` CLI, as the provider does); none means DOCKER_HOST, else the local socket.
 *
 * - `member add` asks whether a volume of the new member's name exists already: Docker's volume create
 *   returns an existing volume as if new, so a volume left from a removed member would hand its old data
 *   (and old member ID) to the joiner.
 * - `etcd-cluster backups` runs `etcd-backup list` in the backup container.
 * - `etcd-cluster pki rotate-ca` reads which CA each container trusts and which CA issued its certificates.
 * - `etcd-cluster recover` looks at the primaries' containers and volumes, reads a stopped member's data
 *   (through a container that is created on its volume and never started: Docker's archive endpoint, or
 *   `docker cp` over ssh), stops and starts containers, and runs one-off containers on a member's volume.
 * - `etcd-cluster network create|remove` (network.ts) makes and removes the cluster's network.
 * - `etcd-cluster rollout`, before etcd 3.5 -> 3.6, runs `etcdutl check v2store` in a one-off container of
 *   the image each primary runs, on its volume mounted read-only (v2store.ts).
 */
import { constants as bufferLimits } from 'node:buffer';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import type { DockerHost } from '../contract';
import { DockerHostError } from './errors';
import { untarFirst } from './member-data';

export { DockerHostError } from './errors';

export interface VolumeInfo {
  readonly name: string;
  readonly createdAt?: string;
}

/** A Docker host (the contract's shape); null or undefined: the machine's own (DOCKER_HOST, else the local socket). */
export type HostOrDefault = DockerHost | null | undefined;

export type HttpTarget = { socketPath: string } | { host: string; port: number };

/** How to reach a Docker host's API over HTTP, or its CLI over ssh. */
export function targetOf(d: HostOrDefault, env: NodeJS.ProcessEnv): { http: HttpTarget; where: string } | { ssh: string[]; where: string } {
  const where = d?.host || env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (where.startsWith('unix://')) return { http: { socketPath: where.slice('unix://'.length) }, where };
  if (where.startsWith('tcp://') || where.startsWith('http://')) {
    const u = new URL(where.replace(/^tcp:/, 'http:'));
    return { http: { host: u.hostname, port: Number(u.port || 2375) }, where };
  }
  if (where.startsWith('ssh://')) {
    const u = new URL(where);
    return { ssh: [...(d?.sshOpts ?? []), ...(u.port ? ['-p', u.port] : []), `${u.username ? `${u.username}@` : ''}${u.hostname}`], where };
  }
  throw new DockerHostError(`${where}: not a Docker host this check understands (unix://, tcp://, ssh://)`);
}

/** One HTTP call to the Engine API: the status and the raw body. */
export function call(
  target: HttpTarget,
  where: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<{ status: number; data: Buffer }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      { ...target, method, path, timeout: timeoutMs, headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, data: Buffer.concat(chunks) }));
      },
    );
    req.on('timeout', () => req.destroy(new DockerHostError(`${where}: no answer in ${timeoutMs / 1000} s`)));
    req.on('error', (e) => reject(e instanceof DockerHostError ? e : new DockerHostError(`${where}: ${e.message}`)));
    req.end(payload);
  });
}

/**
 * The words of a command as one argument for ssh, each quoted for the remote shell: ssh joins its command
 * words with spaces and hands them to that shell, which would split `--format '{{.Name}} {{.CreatedAt}}'`.
 */
export const remote = (...words: string[]): string => words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');

/** One command over ssh (the remote `docker` CLI): its exit code and output; only a failure to run ssh at all throws. */
export function ssh(args: string[], where: string, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('ssh', args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new DockerHostError(`${where}: ${(stderr || err.message).trim().split('\n')[0]}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/**
 * ssh with binary output (a tar stream), compressed on the way: a WAL file is mostly preallocated zeros. As
 * much output as one Buffer holds (`16 << 30` was 0 in JavaScript's 32-bit shifts: every read failed).
 */
function sshBuffer(args: string[], where: string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('ssh', ['-C', ...args], { timeout: 600_000, maxBuffer: bufferLimits.MAX_LENGTH, encoding: 'buffer' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new DockerHostError(`${where}: ${(stderr.toString() || err.message).trim().split('\n')[0]}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr: stderr.toString() });
    });
  });
}

/** The volume, or undefined when the host has none of that name. */
export async function findVolume(name: string, d: HostOrDefault, env: NodeJS.ProcessEnv = process.env): Promise<VolumeInfo | undefined> {
  const t = targetOf(d, env);
  if ('ssh' in t) {
    const r = await ssh([...t.ssh, remote('docker', 'volume', 'inspect', '--format', '{{.Name}} {{.CreatedAt}}', name)], t.where);
    if (r.code === 0) {
      const [n, ...rest] = r.stdout.trim().split(' ');
      return { name: n, createdAt: rest.join(' ') };
    }
    if (/no such volume/i.test(r.stderr)) return undefined;
    throw new DockerHostError(`${t.where}: ${r.stderr.trim().split('\n')[0]}`);
  }
  const r = await call(t.http, t.where, 'GET', `/volumes/${encodeURIComponent(name)}`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new DockerHostError(`${t.where}: volume ${name}: HTTP ${r.status} ${r.data.toString().trim().slice(0, 120)}`);
  try {
    const v = JSON.parse(r.data.toString()) as { Name: string; CreatedAt?: string };
    return { name: v.Name, createdAt: v.CreatedAt };
  } catch {
    throw new DockerHostError(`${t.where}: volume ${name}: unreadable answer`);
  }
}

/** Runs a command in a running container and returns its exit code and output (stdout, then stderr). */
export async function execIn(
  container: string,
  cmd: string[],
  d: HostOrDefault,
  env: NodeJS.ProcessEnv = process.env,
  /** Environment variables of the command inside the container. */
  vars: Record<string, string> = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const t = targetOf(d, env);
  if ('ssh' in t) {
    const flags = Object.entries(vars).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const r = await ssh([...t.ssh, remote('docker', 'exec', ...flags, container, ...cmd)], t.where);
    if (/No such container|is not running/.test(r.stderr)) throw new DockerHostError(`${t.where}: container ${container}: ${r.stderr.trim().split('\n')[0]}`);
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
  }
  const created = await call(t.http, t.where, 'POST', `/containers/${encodeURIComponent(container)}/exec`, {
    Cmd: cmd,
    Env: Object.entries(vars).map(([k, v]) => `${k}=${v}`),
    AttachStdout: true,
    AttachStderr: true,
  });
  if (created.status !== 201) throw new DockerHostError(`${t.where}: container ${container}: ${jsonMessage(created.data)}`);
  const id = (JSON.parse(created.data.toString()) as { Id: string }).Id;
  const started = await call(t.http, t.where, 'POST', `/exec/${id}/start`, { Detach: false, Tty: false }, 120_000);
  const [stdout, stderr] = demux(started.data);
  const info = await call(t.http, t.where, 'GET', `/exec/${id}/json`);
  return { exitCode: (JSON.parse(info.data.toString()) as { ExitCode: number }).ExitCode, stdout, stderr };
}

export function jsonMessage(data: Buffer): string {
  try {
    return (JSON.parse(data.toString()) as { message?: string }).message ?? data.toString().trim();
  } catch {
    return data.toString().trim().slice(0, 120);
  }
}

/** What `recover` needs to know of a container. */
export interface ContainerInfo {
  readonly id: string;
  readonly running: boolean;
  /** Docker's state: running, exited, restarting, paused, ... */
  readonly status: string;
  /** The image ID it was created from. */
  readonly image: string;
}

/** A one-off container: no network (unless it says), one volume or host files, a command (never restarted). */
export interface OneOff {
  readonly name: string;
  readonly image: string;
  readonly cmd: string[];
  readonly volume?: string;
  readonly mountPath?: string;
  /** Files of the Docker host, mounted read-only. */
  readonly binds?: readonly { readonly hostPath: string; readonly containerPath: string }[];
  /** Docker's default bridge, to reach something off the host (the backup store). @default none */
  readonly network?: 'bridge';
  readonly labels: Record<string, string>;
  /** Mount the volume read-only: the container cannot change what is on it. @default false */
  readonly readOnly?: boolean;
  /** Replaces the image's entrypoint (the command is then its arguments). */
  readonly entrypoint?: string;
}

const firstLine = (text: string) => text.trim().split('\n')[0];

/**
 * The container operations of `etcd-cluster recover` on one Docker host, over the Engine API (unix://,
 * tcp://) or the remote `docker` CLI (ssh://), as the provider reaches that host.
 */
export class DockerEngine {
  private readonly t: ReturnType<typeof targetOf>;

  constructor(d: HostOrDefault = null, env: NodeJS.ProcessEnv = process.env) {
    this.t = targetOf(d, env);
  }

  get where(): string {
    return this.t.where;
  }

  private async api(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<{ status: number; data: Buffer }> {
    if (!('http' in this.t)) throw new Error('not an HTTP Docker host');
    return call(this.t.http, this.t.where, method, path, body, timeoutMs);
  }

  /** The remote `docker` CLI, every word quoted for the remote shell (`--format {{json .}}`, labels with spaces). */
  private async cli(args: string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }> {
    if (!('ssh' in this.t)) throw new Error('not an ssh Docker host');
    return ssh([...this.t.ssh, remote('docker', ...args)], this.t.where, timeoutMs);
  }

  private fail(what: string, detail: string): never {
    throw new DockerHostError(`${this.t.where}: ${what}: ${firstLine(detail)}`);
  }

  /** The container of this name, or undefined when there is none. */
  async container(name: string): Promise<ContainerInfo | undefined> {
    let raw: { Id: string; Image: string; State: { Running: boolean; Status: string } };
    if ('ssh' in this.t) {
      const r = await this.cli(['container', 'inspect', '--format', '{{json .}}', name]);
      if (r.code !== 0) {
        if (/no such (object|container)/i.test(r.stderr)) return undefined;
        this.fail(`container ${name}`, r.stderr);
      }
      raw = JSON.parse(r.stdout);
    } else {
      const r = await this.api('GET', `/containers/${encodeURIComponent(name)}/json`);
      if (r.status === 404) return undefined;
      if (r.status !== 200) this.fail(`container ${name}`, jsonMessage(r.data));
      raw = JSON.parse(r.data.toString());
    }
    return { id: raw.Id, running: raw.State.Running, status: raw.State.Status, image: raw.Image };
  }

  /** Stops a container (SIGTERM, then SIGKILL after `graceSeconds`); a stopped one is left as it is. */
  async stop(name: string, graceSeconds = 30): Promise<void> {
    if ('ssh' in this.t) {
      const r = await this.cli(['stop', '-t', String(graceSeconds), name], (graceSeconds + 30) * 1000);
      if (r.code !== 0) this.fail(`stopping ${name}`, r.stderr);
      return;
    }
    const r = await this.api('POST', `/containers/${encodeURIComponent(name)}/stop?t=${graceSeconds}`, undefined, (graceSeconds + 30) * 1000);
    if (r.status !== 204 && r.status !== 304) this.fail(`stopping ${name}`, jsonMessage(r.data));
  }

  async start(name: string): Promise<void> {
    if ('ssh' in this.t) {
      const r = await this.cli(['start', name]);
      if (r.code !== 0) this.fail(`starting ${name}`, r.stderr);
      return;
    }
    const r = await this.api('POST', `/containers/${encodeURIComponent(name)}/start`);
    if (r.status !== 204 && r.status !== 304) this.fail(`starting ${name}`, jsonMessage(r.data));
  }

  /** Removes a container (and nothing of its volumes); none of that name is fine. */
  async remove(name: string): Promise<void> {
    if ('ssh' in this.t) {
      const r = await this.cli(['rm', '-f', name]);
      if (r.code !== 0 && !/no such container/i.test(r.stderr)) this.fail(`removing ${name}`, r.stderr);
      return;
    }
    const r = await this.api('DELETE', `/containers/${encodeURIComponent(name)}?force=true`);
    if (r.status !== 204 && r.status !== 404) this.fail(`removing ${name}`, jsonMessage(r.data));
  }

  /** Creates (does not start) a one-off container: no network, the volume mounted. */
  async create(c: OneOff): Promise<void> {
    const binds = [
      ...(c.volume ? [`${c.volume}:${c.mountPath}${c.readOnly ? ':ro' : ''}`] : []),
      ...(c.binds ?? []).map((b) => `${b.hostPath}:${b.containerPath}:ro`),
    ];
    if ('ssh' in this.t) {
      const labels = Object.entries(c.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
      const entrypoint = c.entrypoint ? ['--entrypoint', c.entrypoint] : [];
      const mounts = binds.flatMap((b) => ['-v', b]);
      const r = await this.cli(['create', '--name', c.name, '--network', c.network ?? 'none', ...mounts, ...labels, ...entrypoint, c.image, ...c.cmd]);
      if (r.code !== 0) this.fail(`creating ${c.name}`, r.stderr);
      return;
    }
    const r = await this.api('POST', `/containers/create?name=${encodeURIComponent(c.name)}`, {
      Image: c.image,
      ...(c.entrypoint ? { Entrypoint: [c.entrypoint] } : {}),
      Cmd: c.cmd,
      Labels: c.labels,
      HostConfig: { NetworkMode: c.network ?? 'none', Binds: binds },
    });
    if (r.status !== 201) this.fail(`creating ${c.name}`, jsonMessage(r.data));
  }

  /** A tar of a path inside a container (which need not be running). */
  async archive(container: string, path: string): Promise<Buffer> {
    if ('ssh' in this.t) {
      const r = await sshBuffer([...this.t.ssh, 'docker', 'cp', `${container}:${path}`, '-'], this.t.where);
      if (r.code !== 0) this.fail(`reading ${path} of ${container}`, r.stderr);
      return r.stdout;
    }
    const r = await this.api('GET', `/containers/${encodeURIComponent(container)}/archive?path=${encodeURIComponent(path)}`, undefined, 600_000);
    if (r.status === 404) throw new DockerHostError(`${this.t.where}: ${container} has no ${path}`);
    if (r.status !== 200) this.fail(`reading ${path} of ${container}`, jsonMessage(r.data));
    return r.data;
  }

  /** Waits until a started container exits; its exit code. */
  async wait(name: string, timeoutMs = 120_000): Promise<number> {
    if ('ssh' in this.t) {
      const r = await this.cli(['wait', name], timeoutMs);
      if (r.code !== 0) this.fail(`waiting for ${name}`, r.stderr);
      return Number(r.stdout.trim());
    }
    const r = await this.api('POST', `/containers/${encodeURIComponent(name)}/wait`, undefined, timeoutMs);
    if (r.status !== 200) this.fail(`waiting for ${name}`, jsonMessage(r.data));
    return (JSON.parse(r.data.toString()) as { StatusCode: number }).StatusCode;
  }

  /** The last lines a container wrote (stdout and stderr). */
  async logs(name: string, tail = 20): Promise<string> {
    if ('ssh' in this.t) {
      const r = await this.cli(['logs', '--tail', String(tail), name]);
      return `${r.stdout}${r.stderr}`;
    }
    const r = await this.api('GET', `/containers/${encodeURIComponent(name)}/logs?stdout=1&stderr=1&tail=${tail}`);
    return demux(r.data).join('');
  }
}

/**
 * Docker's multiplexed stream as its frames, in order: 8-byte headers (stream 1 or 2, 0, 0, 0, the size as
 * a big-endian uint32), then the text. A TTY stream (no headers) is one stdout frame. The one demultiplexer:
 * the tests' harness reads exec output and logs through it too.
 */
export function frames(data: Buffer): { stream: 1 | 2; text: string }[] {
  if (!(data.length >= 8 && data[0] <= 2 && data[1] === 0 && data[2] === 0 && data[3] === 0)) return [{ stream: 1, text: data.toString('utf8') }];
  const out: { stream: 1 | 2; text: string }[] = [];
  for (let i = 0; i + 8 <= data.length;) {
    const size = data.readUInt32BE(i + 4);
    out.push({ stream: data[i] === 2 ? 2 : 1, text: data.subarray(i + 8, i + 8 + size).toString('utf8') });
    i += 8 + size;
  }
  return out;
}

/** The stream as [stdout, stderr] text. */
export function demux(data: Buffer): [string, string] {
  const f = frames(data);
  const of = (stream: 1 | 2) =>
    f
      .filter((x) => x.stream === stream)
      .map((x) => x.text)
      .join('');
  return [of(1), of(2)];
}

/**
 * Files of a container, as text (null for a path it does not have), or `absent` when the host has no
 * container of that name. Through Docker's archive endpoint (or `docker cp` over ssh), so the container
 * needs no shell: the etcd images have none. The `pki rotate-ca` phases read what each container trusts.
 */
export async function readFilesIn(
  container: string,
  paths: readonly string[],
  d: HostOrDefault,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ absent: true } | { absent: false; files: Record<string, string | null> }> {
  const t = targetOf(d, env);
  const files: Record<string, string | null> = {};
  if ('ssh' in t) {
    for (const path of paths) {
      const r = await sshBuffer([...t.ssh, 'docker', 'cp', `${container}:${path}`, '-'], t.where);
      if (r.code === 0) files[path] = untarFirst(r.stdout).toString('utf8');
      else if (/No such container/i.test(r.stderr)) return { absent: true };
      else if (/Could not find the file|No such file/i.test(r.stderr)) files[path] = null;
      else throw new DockerHostError(`${t.where}: container ${container}: ${r.stderr.trim().split('\n')[0]}`);
    }
    return { absent: false, files };
  }
  const inspected = await call(t.http, t.where, 'GET', `/containers/${encodeURIComponent(container)}/json`);
  if (inspected.status === 404) return { absent: true };
  if (inspected.status !== 200) throw new DockerHostError(`${t.where}: container ${container}: ${jsonMessage(inspected.data)}`);
  for (const path of paths) {
    const r = await call(t.http, t.where, 'GET', `/containers/${encodeURIComponent(container)}/archive?path=${encodeURIComponent(path)}`);
    if (r.status === 404) files[path] = null;
    else if (r.status !== 200) throw new DockerHostError(`${t.where}: container ${container}: ${path}: ${jsonMessage(r.data)}`);
    else files[path] = untarFirst(r.data).toString('utf8');
  }
  return { absent: false, files };
}
