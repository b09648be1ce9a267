/**
 * One question to a Docker host, asked by `member add` before a new member's volume is created: does a
 * volume of this name exist already? Docker's volume create returns an existing volume as if new, so a
 * volume left from a removed member would hand its old data (and old member ID) to the joiner.
 *
 * The host is given the way the Docker provider takes it: `unix://...`, `tcp://...` (plain HTTP) or
 * `ssh://user@host` (through the `ssh` command and the remote `docker` CLI, as the provider does);
 * none means DOCKER_HOST, else the local socket.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';

import { DockerHostError } from './errors';

export { DockerHostError } from './errors';

export interface VolumeInfo {
  readonly name: string;
  readonly createdAt?: string;
}

function viaHttp(target: { socketPath: string } | { host: string; port: number }, name: string, where: string): Promise<VolumeInfo | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method: 'GET', path: `/volumes/${encodeURIComponent(name)}`, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        if (res.statusCode === 404) return resolve(undefined);
        if (res.statusCode !== 200) return reject(new DockerHostError(`${where}: volume ${name}: HTTP ${res.statusCode} ${text.trim().slice(0, 120)}`));
        try {
          const v = JSON.parse(text) as { Name: string; CreatedAt?: string };
          resolve({ name: v.Name, createdAt: v.CreatedAt });
        } catch {
          reject(new DockerHostError(`${where}: volume ${name}: unreadable answer`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new DockerHostError(`${where}: no answer in 10 s`)));
    req.on('error', (e) => reject(e instanceof DockerHostError ? e : new DockerHostError(`${where}: ${e.message}`)));
    req.end();
  });
}

function viaSsh(host: string, sshOpts: string[], name: string): Promise<VolumeInfo | undefined> {
  const u = new URL(host);
  const dest = `${u.username ? `${u.username}@` : ''}${u.hostname}`;
  const args = [...sshOpts, ...(u.port ? ['-p', u.port] : []), dest, 'docker', 'volume', 'inspect', '--format', '{{.Name}} {{.CreatedAt}}', name];
  return new Promise((resolve, reject) => {
    execFile('ssh', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (!err) {
        const [n, ...rest] = stdout.trim().split(' ');
        return resolve({ name: n, createdAt: rest.join(' ') });
      }
      if (/no such volume/i.test(stderr)) return resolve(undefined);
      reject(new DockerHostError(`${host}: ${(stderr || err.message).trim().split('\n')[0]}`));
    });
  });
}

/** The volume, or undefined when the host has none of that name. */
export function findVolume(
  name: string,
  host: string | null | undefined,
  sshOpts: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<VolumeInfo | undefined> {
  const target = host || env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (target.startsWith('unix://')) return viaHttp({ socketPath: target.slice('unix://'.length) }, name, target);
  if (target.startsWith('tcp://') || target.startsWith('http://')) {
    const u = new URL(target.replace(/^tcp:/, 'http:'));
    return viaHttp({ host: u.hostname, port: Number(u.port || 2375) }, name, target);
  }
  if (target.startsWith('ssh://')) return viaSsh(target, sshOpts, name);
  return Promise.reject(new DockerHostError(`${target}: not a Docker host this check understands (unix://, tcp://, ssh://)`));
}
