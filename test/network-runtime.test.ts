/**
 * `etcd-cluster network create|remove` against a stand-in Docker Engine API on a unix socket (the calls the
 * runtime makes, recorded): made when absent, adopted when it is what the spec says, refused with one line
 * naming what differs, a network that is not the cluster's left alone, containers still detaching waited
 * for. The real engine, the ssh path and the provider's side are in test/integration/network.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkDef } from '../lib/contract/network';
import { remote } from '../lib/runtime/docker';
import { ensureNetwork, NetworkConflict, removeNetwork } from '../lib/runtime/network';

interface Net {
  Id: string;
  Name: string;
  Driver: string;
  Labels: Record<string, string>;
  IPAM: { Config: { Subnet?: string; Gateway?: string }[] };
  Containers: Record<string, { Name: string }>;
}

const DEF: NetworkDef = {
  kind: 'cdktf-etcd-cluster/network',
  cluster: 'demo',
  name: 'demo-net',
  driver: 'bridge',
  labels: { 'cdktf-etcd-cluster.cluster': 'demo' },
  subnet: '10.214.7.0/24',
  gateway: '10.214.7.1',
};

let dir: string;
let server: Server;
let docker: { host: string; sshOpts: string[] };
const networks = new Map<string, Net>();
const calls: string[] = [];
/** DELETE answers "active endpoints" this many more times. */
let busyDeletes = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'net-api-'));
  const socket = join(dir, 'docker.sock');
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const send = (status: number, data?: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(data === undefined ? '' : JSON.stringify(data));
      };
      const key = decodeURIComponent((req.url ?? '').replace(/^\/networks\//, ''));
      const found = [...networks.values()].find((n) => n.Name === key || n.Id === key);
      if (req.method === 'GET') return found ? send(200, found) : send(404, { message: `network ${key} not found` });
      if (req.method === 'POST' && req.url === '/networks/create') {
        const b = JSON.parse(body) as { Name: string; Driver: string; Labels: Record<string, string>; IPAM?: Net['IPAM']; CheckDuplicate: boolean };
        calls.push(`body ${JSON.stringify(b)}`);
        if ([...networks.values()].some((n) => n.Name === b.Name)) return send(409, { message: `network with name ${b.Name} already exists` });
        const id = `${networks.size + 1}`.padStart(64, 'a');
        networks.set(id, {
          Id: id,
          Name: b.Name,
          Driver: b.Driver,
          Labels: b.Labels,
          IPAM: b.IPAM ?? { Config: [{ Subnet: '172.18.0.0/16' }] },
          Containers: {},
        });
        return send(201, { Id: id });
      }
      if (req.method === 'DELETE') {
        if (!found) return send(404, { message: 'not found' });
        if (busyDeletes > 0) {
          busyDeletes--;
          return send(403, { message: `error while removing network: network ${found.Name} id ${found.Id} has active endpoints` });
        }
        networks.delete(found.Id);
        return send(204);
      }
      send(500, { message: 'unexpected' });
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  docker = { host: `unix://${socket}`, sshOpts: [] };
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  networks.clear();
  calls.length = 0;
  busyDeletes = 0;
});

const put = (n: Partial<Net>) => {
  const net: Net = {
    Id: 'f'.repeat(64),
    Name: DEF.name,
    Driver: 'bridge',
    Labels: { ...DEF.labels },
    IPAM: { Config: [{ Subnet: DEF.subnet!, Gateway: DEF.gateway! }] },
    Containers: {},
    ...n,
  };
  networks.set(net.Id, net);
  return net;
};

describe('network create', () => {
  test('makes the network when there is none: driver, labels, subnet and gateway, refusing a duplicate name', async () => {
    const r = await ensureNetwork(DEF, docker);
    expect(r).toMatchObject({ network: 'demo-net', action: 'created', where: docker.host });
    expect(calls[0]).toBe('GET /networks/demo-net');
    expect(JSON.parse(calls[2].slice('body '.length))).toEqual({
      Name: 'demo-net',
      Driver: 'bridge',
      Labels: { 'cdktf-etcd-cluster.cluster': 'demo' },
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.214.7.0/24', Gateway: '10.214.7.1' }] },
    });
  });

  test('without a subnet, Docker chooses one', async () => {
    await ensureNetwork({ ...DEF, subnet: null, gateway: null }, docker);
    expect(JSON.parse(calls[2].slice('body '.length)).IPAM).toBeUndefined();
  });

  test('adopts a network that is already what the spec says, and makes nothing', async () => {
    const net = put({ Containers: { x: { Name: 'demo-primary-1' } } });
    expect(await ensureNetwork(DEF, docker)).toMatchObject({ action: 'exists', id: net.Id });
    expect(calls).toEqual(['GET /networks/demo-net']);
    // Without a subnet in the spec, any subnet Docker chose is the spec's.
    expect(await ensureNetwork({ ...DEF, subnet: null, gateway: null }, docker)).toMatchObject({ action: 'exists' });
  });

  test.each<[string, Partial<Net>, string]>([
    [
      'another subnet',
      { IPAM: { Config: [{ Subnet: '10.214.8.0/24', Gateway: '10.214.8.1' }] }, Containers: { x: { Name: 'demo-primary-1' } } },
      `network demo-net on DOCKER has subnet 10.214.8.0/24 (gateway 10.214.8.1), and the spec says 10.214.7.0/24 (gateway 10.214.7.1); containers demo-primary-1 use it; remove or rename that network (docker network rm demo-net), or choose another cluster name, and deploy again`,
    ],
    [
      "another cluster's",
      { Labels: { 'cdktf-etcd-cluster.cluster': 'other' } },
      `network demo-net on DOCKER is not cluster demo's (label cdktf-etcd-cluster.cluster=other); remove or rename that network (docker network rm demo-net), or choose another cluster name, and deploy again`,
    ],
    [
      'no label at all',
      { Labels: {} },
      `network demo-net on DOCKER is not cluster demo's (it has no label cdktf-etcd-cluster.cluster); remove or rename that network (docker network rm demo-net), or choose another cluster name, and deploy again`,
    ],
    [
      'another driver',
      { Driver: 'macvlan' },
      `network demo-net on DOCKER has driver macvlan, and the spec says bridge; remove or rename that network (docker network rm demo-net), or choose another cluster name, and deploy again`,
    ],
  ])('refuses a network of that name with %s, in one line', async (_, n, message) => {
    put(n);
    const e = await ensureNetwork(DEF, docker).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetworkConflict);
    expect((e as Error).message).toBe(message.replace('DOCKER', docker.host));
    expect(calls.filter((c) => c.startsWith('POST'))).toEqual([]);
  });
});

describe('network remove', () => {
  test('removes the cluster’s network; then finds none', async () => {
    const net = put({});
    expect(await removeNetwork(DEF, docker)).toMatchObject({ action: 'removed', id: net.Id });
    expect(calls).toContain(`DELETE /networks/${net.Id}`);
    expect(await removeNetwork(DEF, docker)).toMatchObject({ action: 'absent' });
  });

  test('leaves alone a network of that name that is not the cluster’s', async () => {
    put({ Labels: { 'cdktf-etcd-cluster.cluster': 'other' } });
    expect(await removeNetwork(DEF, docker)).toMatchObject({ action: 'kept', reason: "it is not cluster demo's" });
    expect(calls.filter((c) => c.startsWith('DELETE'))).toEqual([]);
  });

  test('waits for containers still detaching', async () => {
    put({});
    busyDeletes = 3;
    expect(await removeNetwork(DEF, docker, { timeoutMs: 10_000 })).toMatchObject({ action: 'removed' });
    expect(calls.filter((c) => c.startsWith('DELETE'))).toHaveLength(4);
  });

  test('gives up after the timeout, naming the containers still on it', async () => {
    put({ Containers: { a: { Name: 'someone-else' } } });
    busyDeletes = 1000;
    const e = await removeNetwork(DEF, docker, { timeoutMs: 600 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetworkConflict);
    expect((e as Error).message).toMatch(
      /^network demo-net on unix:\/\/.* is still in use by someone-else \(error while removing network: .*has active endpoints\); stop or disconnect those containers and run the destroy again$/,
    );
  });
});

test('a command for ssh reaches the remote shell word for word', () => {
  const words = ['docker', 'network', 'inspect', '--format', '{{json .}}', "it's", 'a b'];
  // ssh hands its command to the remote user's shell as one string: sh -c does the same here.
  const out = execFileSync('sh', ['-c', `printf '%s\\n' ${remote(...words.slice(1))}`], { encoding: 'utf8' });
  expect(out.trimEnd().split('\n')).toEqual(words.slice(1));
});
