/**
 * A small client for the Docker Engine API over its unix socket: the test harness speaks the same API
 * the kreuzwerker/docker provider does (the CLI cannot express exec-form healthchecks, among others).
 */
import { request } from 'node:http';
import { frames } from '../../lib/runtime/docker';

export class DockerApiError extends Error {
  constructor(
    message: string,
    public readonly status: number,
  ) {
    super(message);
  }
}

export class DockerApi {
  constructor(public readonly socketPath = DockerApi.socketFromEnv()) {}

  static socketFromEnv(host = process.env.DOCKER_HOST): string {
    if (!host) return '/var/run/docker.sock';
    if (host.startsWith('unix://')) return host.slice('unix://'.length);
    throw new Error(`test harness: only unix:// Docker hosts are supported (DOCKER_HOST=${host})`);
  }

  call<T = any>(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: any = undefined;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            if (status >= 400) {
              const msg = (parsed && parsed.message) || text || `HTTP ${status}`;
              reject(new DockerApiError(`docker ${method} ${path}: ${msg}`, status));
            } else resolve(parsed as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`docker ${method} ${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Extracts a tar archive into a container's filesystem at `path`. */
  putArchive(container: string, path: string, tar: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method: 'PUT',
          path: `/containers/${encodeURIComponent(container)}/archive?path=${encodeURIComponent(path)}`,
          headers: { 'Content-Type': 'application/x-tar', 'Content-Length': tar.length },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () =>
            (res.statusCode ?? 500) >= 400 ? reject(new DockerApiError(`docker PUT archive ${container}: ${text}`, res.statusCode ?? 500)) : resolve(),
          );
        },
      );
      req.on('error', reject);
      req.end(tar);
    });
  }

  async ping(): Promise<boolean> {
    try {
      await this.call('GET', '/_ping', undefined, 3000);
      return true;
    } catch {
      return false;
    }
  }

  /** Inspect, or undefined when Docker says 404. */
  async inspect(kind: 'containers' | 'networks' | 'volumes' | 'images', name: string): Promise<any | undefined> {
    try {
      return await this.call('GET', `/${kind}/${encodeURIComponent(name)}${kind === 'networks' || kind === 'volumes' ? '' : '/json'}`);
    } catch (e) {
      if (e instanceof DockerApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async listByLabel(kind: 'containers' | 'networks' | 'volumes', label: string): Promise<any[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
    const res = await this.call('GET', `/${kind}${kind === 'containers' ? '/json?all=1&' : '?'}filters=${filters}`);
    return kind === 'volumes' ? (res.Volumes ?? []) : res;
  }

  /**
   * What Docker holds of one cluster (its objects carry `label=<cluster>`), as sorted lines: `container
   * <name>`, `volume <name>`, `network <name>`.
   */
  async objectsOf(label: string, cluster: string): Promise<string[]> {
    const mine = (x: { Labels?: Record<string, string> | null }) => x.Labels?.[label] === cluster;
    return [
      ...(await this.listByLabel('containers', label)).filter(mine).map((c) => `container ${String(c.Names[0]).replace(/^\//, '')}`),
      ...(await this.listByLabel('volumes', label)).filter(mine).map((v) => `volume ${v.Name}`),
      ...(await this.listByLabel('networks', label)).filter(mine).map((n) => `network ${n.Name}`),
    ].sort();
  }

  /** Removes what Docker holds of one cluster: its containers, then its volumes and networks. */
  async removeObjectsOf(label: string, cluster: string): Promise<void> {
    const mine = (x: { Labels?: Record<string, string> | null }) => x.Labels?.[label] === cluster;
    for (const c of (await this.listByLabel('containers', label)).filter(mine)) await this.removeContainer(c.Id);
    for (const v of (await this.listByLabel('volumes', label)).filter(mine)) await this.removeVolume(v.Name);
    for (const n of (await this.listByLabel('networks', label)).filter(mine)) await this.removeNetwork(n.Id);
  }

  async stop(name: string, timeoutS = 10): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/stop?t=${timeoutS}`, undefined, (timeoutS + 30) * 1000);
  }

  async kill(name: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/kill`);
  }

  async start(name: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/start`);
  }

  /**
   * Freezes a container's processes: it stays "running" for Docker (and so for the Terraform provider,
   * which leaves it alone), but the member answers nothing. A hung member, as opposed to a stopped one.
   */
  async pause(name: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/pause`);
  }

  async unpause(name: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(name)}/unpause`);
  }

  async removeContainer(name: string): Promise<void> {
    // A container whose process is exiting or restarting at that moment (an etcd member just removed
    // from its cluster exits, and its restart policy starts it again) refuses removal briefly: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call('DELETE', `/containers/${encodeURIComponent(name)}?force=1&v=1`);
        return;
      } catch (e) {
        if (e instanceof DockerApiError && e.status === 404) return;
        if (attempt >= 10 || !(e instanceof DockerApiError && /is not running|in progress|restarting/i.test(e.message))) throw e;
        await new Promise((r) => setTimeout(r, 300 * attempt));
      }
    }
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.call('DELETE', `/networks/${encodeURIComponent(name)}`);
    } catch (e) {
      if (!(e instanceof DockerApiError && e.status === 404)) throw e;
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.call('DELETE', `/volumes/${encodeURIComponent(name)}`);
    } catch (e) {
      if (!(e instanceof DockerApiError && e.status === 404)) throw e;
    }
  }

  /** Container events between two times (Unix seconds), e.g. `die` with its `exitCode`, or `kill` with its `signal`. */
  async events(
    since: number,
    until: number,
    actions: string[],
  ): Promise<{ Action: string; Actor: { ID: string; Attributes: Record<string, string> }; time: number }[]> {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: actions }));
    const text: string = await this.call('GET', `/events?since=${since}&until=${until}&filters=${filters}`);
    // One JSON object per line; a single event arrives already parsed.
    if (text && typeof text === 'object') return [text];
    return String(text ?? '')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  }

  /** Runs a one-off container (on a network, with binds) until it exits; returns its exit code and output, and removes it. */
  async runOnce(image: string, cmd: string[], network = 'none', binds: string[] = []): Promise<{ exitCode: number; output: string }> {
    const created = await this.call('POST', '/containers/create', { Image: image, Cmd: cmd, HostConfig: { NetworkMode: network, Binds: binds } });
    try {
      await this.call('POST', `/containers/${created.Id}/start`);
      const waited = await this.call('POST', `/containers/${created.Id}/wait`, undefined, 120_000);
      const raw: Buffer = await new Promise((resolve, reject) => {
        const req = request({ socketPath: this.socketPath, method: 'GET', path: `/containers/${created.Id}/logs?stdout=1&stderr=1` }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.end();
      });
      return { exitCode: waited.StatusCode, output: demultiplex(raw) };
    } finally {
      await this.removeContainer(created.Id);
    }
  }

  /** Runs a command in a container and returns its exit code and output (stdout and stderr mixed). */
  async exec(container: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
    const created = await this.call('POST', `/containers/${encodeURIComponent(container)}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const raw: Buffer = await new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify({ Detach: false, Tty: false }));
      const req = request(
        {
          socketPath: this.socketPath,
          method: 'POST',
          path: `/exec/${created.Id}/start`,
          headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        },
      );
      req.on('error', reject);
      req.write(payload);
      req.end();
    });
    const output = demultiplex(raw);
    const info = await this.call('GET', `/exec/${created.Id}/json`);
    return { exitCode: info.ExitCode, output };
  }
}

/** Docker's multiplexed stream as text, stdout and stderr in the order they came (the runtime's one demultiplexer). */
function demultiplex(raw: Buffer): string {
  return frames(raw)
    .map((f) => f.text)
    .join('');
}
