/**
 * Founders start one after another on a new cluster's first deploy (PrimaryNode.startsAfter): which primaries
 * wait and for whom (the topology), what the stack renders for it (a provisioner on the founder's volume that
 * never taints it, naming the Docker host of the founder it waits for), and `etcd-cluster member stagger`
 * against a stand-in Docker Engine API on a unix socket: it waits until the container runs, lets go at once
 * when it has stopped, gives up after the timeout without failing, and refuses a malformed message in one
 * line. The real engine's side is in test/integration/bootstrap.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../lib/cli/exit-codes';
import { STAGGER_ENV, STAGGER_KIND, type StaggerMessage } from '../lib/contract';
import { buildTopology, STAGGER_TIMEOUT_SECONDS, validateSpec } from '../lib/model';
import { awaitPrevious, staggerLine } from '../lib/runtime/stagger';
import { REPO_ROOT, resourcesOf, run, synthStack } from './helpers/synth';

jest.setTimeout(60_000);

const topo = (props: Record<string, unknown>) => buildTopology(validateSpec({ name: 's', ...props }));
const SNAPSHOT = join(__dirname, 'fixtures', 'snapshot-rev51.db');

describe('which primaries start after which', () => {
  test('each founder after the one before it; primary 1 at once', () => {
    expect(topo({ primaries: 5 }).primaries.map((p) => p.startsAfter)).toEqual([undefined, 's-primary-1', 's-primary-2', 's-primary-3', 's-primary-4']);
  });

  test('a joiner waits for nothing (it joins a running cluster, one at a time already)', () => {
    expect(topo({ primaries: 5, initialPrimaries: 3 }).primaries.map((p) => p.startsAfter)).toEqual([
      undefined,
      's-primary-1',
      's-primary-2',
      undefined,
      undefined,
    ]);
  });

  test('a replaced primary waits for nothing; the founder after it still names it', () => {
    expect(topo({ primaries: 3, replace: { '2': 1 } }).primaries.map((p) => p.startsAfter)).toEqual([undefined, undefined, 's-primary-2']);
  });

  test('a restored cluster waits for nothing: its members boot with data', () => {
    expect(topo({ primaries: 3, restore: { snapshot: SNAPSHOT } }).primaries.map((p) => p.startsAfter)).toEqual([undefined, undefined, undefined]);
  });
});

type Provisioner = { 'local-exec': { command: string; environment: Record<string, string>; on_failure?: string } };
const volumeSteps = (tf: ReturnType<typeof synthStack>) =>
  [...resourcesOf(tf).entries()]
    .filter(([k]) => k.startsWith('docker_volume.'))
    .map(([k, v]) => [k.replace(/^docker_volume\.cluster_(primary-\d+)_data_[0-9A-F]+$/, '$1'), (v.provisioner as Provisioner[] | undefined) ?? []] as const);

describe('what the stack renders', () => {
  test('the volume of founder i waits for founder i-1; the step never fails (on_failure continue) and carries the message', () => {
    const steps = volumeSteps(synthStack({ name: 's', primaries: 3 }));
    expect(steps.map(([k, p]) => [k, p.length])).toEqual([
      ['primary-1', 0],
      ['primary-2', 1],
      ['primary-3', 1],
    ]);
    const [, [step]] = steps[2];
    expect(step['local-exec'].command).toMatch(/ member stagger$/);
    expect(step['local-exec'].on_failure).toBe('continue');
    expect(JSON.parse(step['local-exec'].environment[STAGGER_ENV])).toEqual({
      kind: STAGGER_KIND,
      cluster: 's',
      member: 's-primary-3',
      after: 's-primary-2',
      timeoutSeconds: STAGGER_TIMEOUT_SECONDS,
      docker: null,
    });
  });

  test("joiners and a restored cluster render no step; a founder's volume waits for the image and network of the founder before", () => {
    const joiners = volumeSteps(synthStack({ name: 's', primaries: 5, initialPrimaries: 3 }));
    expect(joiners.map(([k, p]) => [k, p.length])).toEqual([
      ['primary-1', 0],
      ['primary-2', 1],
      ['primary-3', 1],
      ['primary-4', 0],
      ['primary-5', 0],
    ]);
    expect(volumeSteps(synthStack({ name: 's', primaries: 3, restore: { snapshot: SNAPSHOT } })).every(([, p]) => p.length === 0)).toBe(true);
    const volumes = [...resourcesOf(synthStack({ name: 's', primaries: 3 })).entries()].filter(([k]) => k.startsWith('docker_volume.'));
    expect(volumes.map(([, v]) => ((v.depends_on as string[] | undefined) ?? []).map((d) => d.replace(/_[0-9A-F]{8}$/, '')))).toEqual([
      ['terraform_data.cluster_guard'],
      ['docker_image.cluster_image', 'terraform_data.cluster_network_id', 'terraform_data.cluster_guard'],
      ['docker_image.cluster_image', 'terraform_data.cluster_network_id', 'terraform_data.cluster_guard'],
    ]);
  });

  test("across hosts, the step looks on the Docker host of the founder it waits for, as that host's provider reaches it", () => {
    const hosts = [
      { name: 'a', docker: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'], address: '192.0.2.11' },
      { name: 'b', docker: 'ssh://ops@192.0.2.12', address: '192.0.2.12' },
      { name: 'c', docker: 'unix:///run/c.sock', address: '192.0.2.13' },
    ];
    const steps = new Map(volumeSteps(synthStack({ name: 'm', primaries: 3, hosts })).map(([k, p]) => [k, p]));
    const docker = (k: string) => JSON.parse(steps.get(k)![0]['local-exec'].environment[STAGGER_ENV]).docker;
    expect(docker('primary-2')).toEqual({ host: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'ConnectTimeout=5'] });
    expect(docker('primary-3')).toEqual({ host: 'ssh://ops@192.0.2.12', sshOpts: [] });
  });
});

describe('member stagger against a stand-in Docker Engine API', () => {
  let dir: string;
  let server: Server;
  let socket: string;
  /** The states the container goes through, one per look; the last one stays. undefined: no such container. */
  let states: (string | undefined)[] = [];
  let looks = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stagger-'));
    socket = join(dir, 'docker.sock');
    server = createServer((req, res) => {
      const state = states[Math.min(looks++, states.length - 1)];
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      // Only the founder it waits for is looked at.
      if (req.method !== 'GET' || req.url !== '/containers/s-primary-1/json') return send(500, { message: `unexpected ${req.method} ${req.url}` });
      if (!state) return send(404, { message: 'No such container' });
      send(200, { Id: 'c0ffee', Image: 'sha256:1', State: { Running: state === 'running', Status: state } });
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    looks = 0;
  });

  const message = (timeoutSeconds = 5): StaggerMessage => ({
    kind: STAGGER_KIND,
    cluster: 's',
    member: 's-primary-2',
    after: 's-primary-1',
    docker: { host: `unix://${socket}`, sshOpts: [] },
    timeoutSeconds,
  });

  test('absent, then created, then running: it waits until it runs', async () => {
    states = [undefined, undefined, 'created', 'running'];
    const r = await awaitPrevious(message());
    expect(r.outcome).toBe('running');
    expect(looks).toBe(4);
    expect(staggerLine(message(), r)).toMatch(/^s-primary-2: starts after s-primary-1, which runs \(waited \d+\.\d s\)$/);
  });

  test('a container that has exited is not waited for', async () => {
    states = ['created', 'exited'];
    const r = await awaitPrevious(message());
    expect(r).toMatchObject({ outcome: 'stopped', detail: 'it is exited' });
    expect(staggerLine(message(), r)).toBe('s-primary-2: starts without waiting for s-primary-1: it is exited');
  });

  test('never there: it gives up after the timeout, saying what it saw last', async () => {
    states = [undefined];
    const r = await awaitPrevious(message(1));
    expect(r).toMatchObject({ outcome: 'timeout', detail: 'it does not exist yet' });
    expect(r.waitedMs).toBeGreaterThanOrEqual(1000);
  });

  test('over ssh: the remote docker CLI gets its words as they are (the format is one word)', async () => {
    // A stand-in ssh that runs the remote command with sh, and a stand-in docker that answers only the
    // exact inspect of the founder waited for.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'ssh'), '#!/bin/sh\nfor last; do :; done\nexec sh -c "$last"\n', { mode: 0o755 });
    writeFileSync(
      join(bin, 'docker'),
      [
        '#!/bin/sh',
        'if [ "$*" = "container inspect --format {{json .}} s-primary-1" ] && [ "$4" = "{{json .}}" ]; then',
        '  echo \'{"Id":"c0ffee","Image":"sha256:1","State":{"Running":true,"Status":"running"}}\'',
        'else echo "template: unexpected words: $*" >&2; exit 1; fi',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    // The command in a process of its own, with the stand-ins first on its PATH (jest's process.env is the test's own).
    const r = await run(process.execPath, [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'member', 'stagger'], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        [STAGGER_ENV]: JSON.stringify({ ...message(5), docker: { host: 'ssh://ops@192.0.2.11', sshOpts: ['-o', 'BatchMode=yes'] } }),
      },
      timeoutMs: 30_000,
    });
    expect({ code: r.code, out: r.stdout.trim() }).toEqual({ code: 0, out: expect.stringMatching(/^s-primary-2: starts after s-primary-1, which runs/) });
  });

  test('the command prints its line and exits 0, also when it gave up', async () => {
    states = [undefined, 'running'];
    const ok = await run(process.execPath, [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'member', 'stagger'], {
      env: { [STAGGER_ENV]: JSON.stringify(message()) },
      timeoutMs: 30_000,
    });
    expect({ code: ok.code, out: ok.stdout.trim() }).toEqual({ code: 0, out: expect.stringMatching(/^s-primary-2: starts after s-primary-1, which runs/) });
    looks = 0;
    states = [undefined];
    const gaveUp = await run(process.execPath, [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'member', 'stagger'], {
      env: { [STAGGER_ENV]: JSON.stringify(message(1)) },
      timeoutMs: 30_000,
    });
    expect({ code: gaveUp.code, out: gaveUp.stdout.trim() }).toEqual({
      code: 0,
      out: expect.stringMatching(/^s-primary-2: starts without waiting for s-primary-1 any longer \(1\.\d s\): it does not exist yet$/),
    });
  });

  test.each([
    ['', `${STAGGER_ENV}: not set (a founder's volume step sets it)`],
    ['{', `${STAGGER_ENV}: not valid JSON:`],
    [
      JSON.stringify({ kind: STAGGER_KIND, cluster: 's', member: 'a', after: '', docker: null, timeoutSeconds: 5 }),
      `${STAGGER_ENV}: malformed stagger: after:`,
    ],
  ])('a malformed message %j: one line, exit 2, nothing waited for', async (text, line) => {
    const r = await run(process.execPath, [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'member', 'stagger'], {
      env: { [STAGGER_ENV]: text },
      timeoutMs: 30_000,
    });
    const lines = r.stderr.split('\n').filter(Boolean);
    expect({ code: r.code, lines: lines.length, stdout: r.stdout }).toEqual({ code: EXIT.USAGE, lines: 1, stdout: '' });
    expect(lines[0]).toContain(line);
  });
});
