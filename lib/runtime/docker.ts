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
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { DockerHostError } from './errors';

export { DockerHostError } from './errors';

export interface VolumeInfo {
  readonly name: string;
  readonly createdAt?: string;
}

export interface DockerHost {
  readonly host?: string | null;
  readonly sshOpts?: string[];
}

type HttpTarget = { socketPath: string } | { host: string; port: number };

/** How to reach a Docker host's API over HTTP, or its CLI over ssh. */
function targetOf(d: DockerHost, env: NodeJS.ProcessEnv): { http: HttpTarget; where: string } | { ssh: string[]; where: string } {
  const where = d.host || env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (where.startsWith('unix://')) return { http: { socketPath: where.slice('unix://'.length) }, where };
  if (where.startsWith('tcp://') || where.startsWith('http://')) {
    const u = new URL(where.replace(/^tcp:/, 'http:'));
    return { http: { host: u.hostname, port: Number(u.port || 2375) }, where };
  }
  if (where.startsWith('ssh://')) {
    const u = new URL(where);
    return { ssh: [...(d.sshOpts ?? []), ...(u.port ? ['-p', u.port] : []), `${u.username ? `${u.username}@` : ''}${u.hostname}`], where };
  }
  throw new DockerHostError(`${where}: not a Docker host this check understands (unix://, tcp://, ssh://)`);
}

/** One HTTP call to the Engine API: the status and the raw body. */
function call(target: HttpTarget, where: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; data: Buffer }> {
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

function ssh(args: string[], where: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('ssh', args, { timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new DockerHostError(`${where}: ${(stderr || err.message).trim().split('\n')[0]}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** The volume, or undefined when the host has none of that name. */
export async function findVolume(
  name: string,
  host: string | null | undefined,
  sshOpts: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<VolumeInfo | undefined> {
  const t = targetOf({ host, sshOpts }, env);
  if ('ssh' in t) {
    const r = await ssh([...t.ssh, 'docker', 'volume', 'inspect', '--format', '{{.Name}} {{.CreatedAt}}', name], t.where);
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
  d: DockerHost,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const t = targetOf(d, env);
  if ('ssh' in t) {
    const r = await ssh([...t.ssh, 'docker', 'exec', container, ...cmd], t.where);
    if (/No such container|is not running/.test(r.stderr)) throw new DockerHostError(`${t.where}: container ${container}: ${r.stderr.trim().split('\n')[0]}`);
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
  }
  const created = await call(t.http, t.where, 'POST', `/containers/${encodeURIComponent(container)}/exec`, {
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
  });
  if (created.status !== 201) throw new DockerHostError(`${t.where}: container ${container}: ${jsonMessage(created.data)}`);
  const id = (JSON.parse(created.data.toString()) as { Id: string }).Id;
  const started = await call(t.http, t.where, 'POST', `/exec/${id}/start`, { Detach: false, Tty: false }, 120_000);
  // Docker's multiplexed stream: 8-byte frame headers (stream 1 or 2, 0, 0, 0, size as big-endian uint32).
  let stdout = '';
  let stderr = '';
  for (let i = 0; i + 8 <= started.data.length;) {
    const size = started.data.readUInt32BE(i + 4);
    const text = started.data.subarray(i + 8, i + 8 + size).toString('utf8');
    if (started.data[i] === 2) stderr += text;
    else stdout += text;
    i += 8 + size;
  }
  const info = await call(t.http, t.where, 'GET', `/exec/${id}/json`);
  return { exitCode: (JSON.parse(info.data.toString()) as { ExitCode: number }).ExitCode, stdout, stderr };
}

function jsonMessage(data: Buffer): string {
  try {
    return (JSON.parse(data.toString()) as { message?: string }).message ?? data.toString().trim();
  } catch {
    return data.toString().trim().slice(0, 120);
  }
}

/** The first file of a tar archive (what Docker's archive endpoint and `docker cp ... -` return for one file). */
export function firstFileOfTar(tar: Buffer): Buffer {
  if (tar.length < 512) throw new Error('not a tar archive');
  const size = parseInt(tar.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim() || '0', 8);
  return tar.subarray(512, 512 + size);
}

/**
 * Files of a container, as text (null for a path it does not have), or `absent` when the host has no
 * container of that name. Through Docker's archive endpoint (or `docker cp` over ssh), so the container
 * needs no shell: the etcd images have none. The `pki rotate-ca` phases read what each container trusts.
 */
export async function readFilesIn(
  container: string,
  paths: readonly string[],
  d: DockerHost,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ absent: true } | { absent: false; files: Record<string, string | null> }> {
  const t = targetOf(d, env);
  const files: Record<string, string | null> = {};
  if ('ssh' in t) {
    for (const path of paths) {
      const r = await sshBuffer([...t.ssh, 'docker', 'cp', `${container}:${path}`, '-'], t.where);
      if (r.code === 0) files[path] = firstFileOfTar(r.stdout).toString('utf8');
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
    else files[path] = firstFileOfTar(r.data).toString('utf8');
  }
  return { absent: false, files };
}

function sshBuffer(args: string[], where: string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('ssh', args, { timeout: 60_000, maxBuffer: 64 << 20, encoding: 'buffer' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new DockerHostError(`${where}: ${(stderr.toString() || err.message).trim().split('\n')[0]}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr: stderr.toString() });
    });
  });
}
