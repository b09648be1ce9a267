/**
 * `npm run bench`: measures, side by side in one run, and writes BENCHMARKS.md. Never part of the tests;
 * nothing here passes or fails on time. Deploys go through real Terraform and the real Docker provider, as
 * users deploy; everything talks only to 127.0.0.1 and to containers of the local engine.
 *
 * Usage: npm run bench [-- --runs 5] [-- --only verify,deploy,synth,diff,scaling,rollout,throughput]
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HEALTHCHECK_INTERVAL } from '../lib/model/topology/context';
import { connect } from '../lib/runtime/etcd-client';
import { inspectCluster, verifyCluster } from '../lib/runtime/verify';
import { freePortRange, requireEngine, TEST_IMAGE } from '../test/harness/env';
import type { Deployment } from '../test/harness/deployment';
import type { DockerApi } from '../test/harness/docker-api';
import { TestCluster, type Overrides } from '../test/harness/test-cluster';
import { Writer } from '../test/harness/writer';
import { REPO_ROOT, resourcesOf, run, scratchDir, synthStack } from '../test/helpers/synth';

const execFileP = promisify(execFile);
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 5;
const ALL = ['verify', 'deploy', 'synth', 'diff', 'scaling', 'rollout', 'throughput'];
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : ALL;

interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}
function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], n: s.length };
}
const f = (x: number, d = 0) => x.toFixed(d);
const fmt = (s: Stats, d = 0) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
const med = (xs: number[]) => stats(xs).median;
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sections: { n: number; text: string }[] = [];
const headlines: string[] = [];
/** Bench clusters are named `bn...`: a test run's sweep of leftover `it...` clusters never touches them. */
const BENCH_PREFIX = 'bn';
const HOOK_ENV = 'ETCD_CLUSTER_EXPECTED';

/** Wall time of a command, in milliseconds; throws with its output when it fails. */
async function timed(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await run(cmd, argv, { ...opts, timeoutMs: 600_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.code}: ${(r.stdout + r.stderr).trim().slice(-600)}`);
  return ms;
}

/** The machine's CPU counters (all cores): busy and total jiffies, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - (fields[4] ?? 0), total };
}
/** The share of the machine's CPU busy (0-100 %) between a `cpuTimes()` and now. */
function busySince(from: { busy: number; total: number }): number {
  const now = cpuTimes();
  return (100 * (now.busy - from.busy)) / Math.max(1, now.total - from.total);
}
/** The share of the machine's CPU busy while we do nothing for `ms`: what a standing cluster costs. */
async function idleLoad(ms = 5000): Promise<number> {
  const from = cpuTimes();
  await sleep(ms);
  return busySince(from);
}

/** Tries a put every 20 ms until one succeeds; resolves with the time it did. */
async function firstWrite(hosts: string[], until: number): Promise<number> {
  const c = connect(hosts, { timeoutMs: 1000 });
  try {
    while (Date.now() < until) {
      try {
        await c.put('/bench/first').value('1');
        return Date.now();
      } catch {
        await sleep(20);
      }
    }
    throw new Error('no write accepted in time');
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Terraform, timed from its own event stream.

interface TfEvent {
  type: string;
  at: number;
  addr?: string;
  message: string;
}

/** `terraform apply -json`: the wall time, and every event with Terraform's own timestamp. */
async function applyJson(dep: Deployment): Promise<{ started: number; ended: number; events: TfEvent[] }> {
  const started = Date.now();
  const r = await dep.terraform(['apply', '-input=false', '-auto-approve', '-json'], 1_800_000);
  const ended = Date.now();
  const events: TfEvent[] = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; '@timestamp': string; '@message': string; hook?: { resource?: { addr?: string } } })
    .map((e) => ({ type: e.type, at: Date.parse(e['@timestamp']), addr: e.hook?.resource?.addr, message: e['@message'] }));
  if (r.code !== 0) {
    const errors = events.filter((e) => e.type === 'diagnostic').map((e) => e.message);
    throw new Error(`terraform apply failed: ${errors.join('; ') || r.stderr.slice(-600)}`);
  }
  return { started, ended, events };
}

/** When events of this type (and resource address) happened, by Terraform's own clock. */
const timesOf = (events: TfEvent[], type: string, addr: RegExp = /./) => events.filter((e) => e.type === type && addr.test(e.addr ?? '')).map((e) => e.at);
const firstAt = (...a: Parameters<typeof timesOf>) => Math.min(...timesOf(...a));
const lastAt = (...a: Parameters<typeof timesOf>) => Math.max(...timesOf(...a));
const HOOK = /verify_hook/;
/**
 * The provider sleeps this long after creating a network before its first read of it (networkReadRefreshDelay
 * in its resource_docker_network_funcs.go), and every container waits for the network it joins.
 */
const PROVIDER_NETWORK_WAIT_MS = 2000;
const CONTAINER = /^docker_container\./;

// ---------------------------------------------------------------------------------------------------------
// 1. The hook's command on a healthy 5+20 cluster.

async function benchVerify(): Promise<void> {
  const cluster = await TestCluster.create('vfy', { primaries: 5, secondaries: 20 }, { namePrefix: BENCH_PREFIX });
  cluster.say = () => undefined;
  try {
    await cluster.apply();
    const dir = cluster.deployment.dir;
    const hook = Object.values(cluster.deployment.config().resource.terraform_data).find((r) => HOOK_ENV in (hookEnvOf(r) ?? {}))!;
    const command = (hook.provisioner as { 'local-exec': { command: string } }[])[0]['local-exec'].command;
    const env = { [HOOK_ENV]: JSON.stringify(hook.input) };
    const endpoints = cluster.topology.primaries.map((p) => p.hostClientUrl.replace('http://', '')).join(',');
    const cli = command.slice(0, command.indexOf(' verify'));
    // The first run of a command writes its code cache: a warm-up, not counted (as every later hook finds it).
    await timed('sh', ['-c', command], { cwd: dir, env });
    // What the standing cluster costs the machine while nothing else runs (mostly its healthchecks).
    const standing = await idleLoad();
    const rows = {
      node: [] as number[],
      load: [] as number[],
      hook: [] as number[],
      npx: [] as number[],
      etcdctl: [] as number[],
      inProcess: [] as number[],
    };
    const n = Math.max(RUNS, 10);
    for (let i = 0; i < n; i++) {
      rows.node.push(await timed(process.execPath, ['-e', '0'], { cwd: dir }));
      rows.load.push(await timed('sh', ['-c', `${cli} help`], { cwd: dir }));
      rows.hook.push(await timed('sh', ['-c', command], { cwd: dir, env }));
      if (i < 5) rows.npx.push(await timed('sh', ['-c', 'npx --no-install etcd-cluster verify --timeout 60'], { cwd: dir, env }));
      rows.etcdctl.push(await timed('etcdctl', [`--endpoints=${endpoints}`, 'endpoint', 'status'], { env: { ETCDCTL_API: '3' } }));
      const t0 = process.hrtime.bigint();
      const look = await inspectCluster(cluster.expectation);
      rows.inProcess.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!look.ok) throw new Error(`5+20 stopped matching: ${JSON.stringify(look.problems)}`);
    }
    const hookMs = stats(rows.hook);
    log(`verify 5+20: hook command ${fmt(hookMs)} ms, etcdctl ${fmt(stats(rows.etcdctl))} ms, standing load ${f(standing)} %`);
    headlines.push(`\`etcd-cluster verify\` on 5+20 as the hook runs it: ${f(hookMs.median)} ms (target < 300 ms: ${verdict(hookMs.median < 300)})`);
    sections.push({
      n: 1,
      text: `## 1. The verifier as a command

Method: a healthy 5+20 cluster deployed by Terraform. Each row is a whole process timed from outside
(spawn to exit), ${n} runs, interleaved: Node doing nothing; the hook's CLI loading and printing its help;
the hook's own command (read from the synthesized stack, run from the stack directory with the hook's
environment, as Terraform runs it); the same verification through \`npx --no-install etcd-cluster\` (the
command the hooks used before, ${rows.npx.length} runs); \`etcdctl endpoint status\` over the five primaries (Debian's
etcdctl ${etcdctlVersion()}, a peer tool that checks less: no member list comparison, no write, no read
through every member and secondary); one verification pass in process (no start-up). The hook's first run
(not counted) writes the CLI's code cache, as the first hook of a project does.

| what | ms: median (min–max) |
| --- | --- |
| \`node -e 0\` | ${fmt(stats(rows.node))} |
| the CLI loading and printing its help (\`help\`) | ${fmt(stats(rows.load))} |
| **the hook's \`verify\`, whole command** | **${fmt(hookMs)}** |
| \`npx --no-install etcd-cluster verify\`, whole command | ${fmt(stats(rows.npx))} |
| \`etcdctl endpoint status\`, 5 primaries | ${fmt(stats(rows.etcdctl))} |
| one verification pass, in process | ${fmt(stats(rows.inProcess))} |

Target under 300 ms: **${verdict(hookMs.median < 300)}** (${f(hookMs.median)} ms). The machine is not idle
while this runs: the standing 5+20 cluster alone kept ${f(standing)} % of its CPU busy (sampled from
/proc/stat over 5 s with nothing else of ours running; every container runs a healthcheck, \`etcdctl endpoint
health\` exec'd into it every ${HEALTHCHECK_INTERVAL.primary} for primaries and every ${HEALTHCHECK_INTERVAL.secondary} for secondaries, which costs Docker and runc a
process start each), so every process here starts on a busy machine; compare the rows with the first one of the same run. What bounds it: the verification
alone, in process with nothing to start, took ${f(stats(rows.inProcess).median)} ms (last row)${stats(rows.inProcess).median >= 300 ? ', already more than the target' : ''}, and Node's own start
adds the first row; the CLI's loading (second row minus first) is the part of ours that remains. A CPU
profile of one hook (\`node --cpu-prof\`) puts most of that loading in protobufjs generating the encoders
and descriptors of every message type in etcd's protocol (through @grpc/proto-loader) and the garbage
collection that follows.
Where the time goes: Node's own start (first row), loading the CLI (second row minus first: the bundle,
its code cache, and the gRPC, HTTP/2 and TLS modules of Node that the etcd client needs), then the
verification itself (last row: it waits for the cluster, a linearizable write and ${20 + 5} reads, each
a round trip through Raft or a proxy). What changed for this: the hooks run \`node\` on the bundled CLI
instead of \`npx\` (the fourth row is what npx's start-up costs), the CLI is one file compiled with a V8
code cache and etcd3's protocol definitions parsed at build time, \`verify\` loads no spec model or YAML
parser, and after the probe write every remaining question goes out in parallel.`,
    });
  } finally {
    await cluster.teardown();
  }
}

function hookEnvOf(r: Record<string, unknown>): Record<string, string> | undefined {
  return (r.provisioner as { 'local-exec'?: { environment?: Record<string, string> } }[] | undefined)?.[0]?.['local-exec']?.environment;
}

function etcdctlVersion(): string {
  try {
    return /etcdctl version: (\S+)/.exec(execFileSync('etcdctl', ['version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2 and 5. Deploying 3+2: ours through Terraform, plain `docker run`, and Docker Compose, interleaved.

interface OursRun {
  init: number;
  apply: number;
  /** From the apply's start to its first resource change: refresh, plan, the provider starting. */
  plan: number;
  /** From the first resource change to the last container created. */
  containers: number;
  /** From the last container created to the first accepted write (0 when a quorum accepted one earlier). */
  election: number;
  /** From the first write (or last container) to the hook's success. */
  hookAfter: number;
  /** The hook's own command, from start to success. */
  hook: number;
  /** From the hook's success to Terraform's exit (writing state). */
  exit: number;
  /** From the first resource change to the hook's success: comparable with plain docker run. */
  dockerToVerified: number;
  /** The hook's success after the first accepted write (negative: never, it cannot pass without a quorum). */
  lag: number;
  /** The longest create of each resource type (docker_network, docker_container, ...), start to complete. */
  byType: Record<string, number>;
}

function createTimes(events: TfEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const done of events.filter((e) => e.type === 'apply_complete' && e.addr)) {
    const start = events.find((e) => e.type === 'apply_start' && e.addr === done.addr);
    const type = done.addr!.split('.')[0];
    if (start) out[type] = Math.max(out[type] ?? 0, done.at - start.at);
  }
  return out;
}

async function oursDeploy(i: number): Promise<OursRun> {
  const cluster = await TestCluster.create(`dep${i}`, { primaries: 3, secondaries: 2 }, { namePrefix: BENCH_PREFIX });
  cluster.say = () => undefined;
  try {
    const dep = cluster.deployment;
    dep.write(cluster.synth());
    const t0 = Date.now();
    await dep.init();
    const init = Date.now() - t0;
    const hosts = cluster.topology.primaries.map((p) => p.hostClientUrl);
    const started = Date.now();
    const probe = firstWrite(hosts, started + 180_000);
    const { ended, events } = await applyJson(dep);
    const wrote = await probe;
    const firstChange = firstAt(events, 'apply_start');
    const lastContainer = lastAt(events, 'apply_complete', CONTAINER);
    const hookStart = firstAt(events, 'apply_start', HOOK);
    const hookDone = lastAt(events, 'apply_complete', HOOK);
    if (!Number.isFinite(hookDone)) throw new Error('the apply had no verify hook');
    return {
      init,
      apply: ended - started,
      plan: firstChange - started,
      containers: lastContainer - firstChange,
      election: Math.max(0, wrote - lastContainer),
      hookAfter: hookDone - Math.max(wrote, lastContainer),
      hook: hookDone - hookStart,
      exit: ended - hookDone,
      dockerToVerified: hookDone - firstChange,
      lag: hookDone - wrote,
      byType: createTimes(events),
    };
  } finally {
    await cluster.teardown();
  }
}

const ETCD_ARGS = (name: string, cluster: string, token: string) => [
  '/usr/local/bin/etcd',
  `--name=${name}`,
  '--data-dir=/var/lib/etcd/data',
  '--listen-peer-urls=http://0.0.0.0:2380',
  '--listen-client-urls=http://0.0.0.0:2379',
  `--advertise-client-urls=http://${name}:2379`,
  `--initial-advertise-peer-urls=http://${name}:2380`,
  `--initial-cluster=${cluster}`,
  `--initial-cluster-token=${token}`,
  '--initial-cluster-state=new',
];
const PROXY_ARGS = (names: string[]) => [
  '/usr/local/bin/etcd',
  'grpc-proxy',
  'start',
  `--endpoints=${names.map((n) => `${n}:2379`).join(',')}`,
  '--listen-addr=0.0.0.0:2379',
];

/** Plain `docker run`, one container after another as a person's script would, until the first write. */
async function dockerRunDeploy(docker: DockerApi): Promise<number> {
  const tag = `bnrun${Date.now().toString(36)}`;
  const base = await freePortRange(5);
  const names = [1, 2, 3].map((i) => `${tag}-${i}`);
  const cluster = names.map((n) => `${n}=http://${n}:2380`).join(',');
  const label = ['--label', `cdktf-etcd-cluster.cluster=${tag}`];
  try {
    const started = Date.now();
    const probe = firstWrite(
      names.map((_, i) => `http://127.0.0.1:${base + i}`),
      started + 180_000,
    );
    await execFileP('docker', ['network', 'create', ...label, `${tag}-net`]);
    for (const [i, n] of names.entries()) {
      await execFileP('docker', [
        'run',
        '-d',
        ...label,
        '--name',
        n,
        '--network',
        `${tag}-net`,
        '-v',
        `${n}-data:/var/lib/etcd`,
        '-p',
        `127.0.0.1:${base + i}:2379`,
        TEST_IMAGE,
        ...ETCD_ARGS(n, cluster, tag),
      ]);
    }
    for (const j of [1, 2]) {
      await execFileP('docker', [
        'run',
        '-d',
        ...label,
        '--name',
        `${tag}-p${j}`,
        '--network',
        `${tag}-net`,
        '-p',
        `127.0.0.1:${base + 2 + j}:2379`,
        TEST_IMAGE,
        ...PROXY_ARGS(names),
      ]);
    }
    return (await probe) - started;
  } finally {
    const list = await docker.listByLabel('containers', `cdktf-etcd-cluster.cluster=${tag}`);
    await Promise.all(list.map((c) => docker.removeContainer(c.Id)));
    await docker.removeNetwork(`${tag}-net`);
    for (const n of names) await docker.removeVolume(`${n}-data`).catch(() => undefined);
  }
}

/** `docker-compose up -d` of the same 3+2 (named volumes, one network, ports on 127.0.0.1), until the first write. */
async function composeDeploy(): Promise<{ up: number; firstWrite: number }> {
  const project = `bncompose${Date.now().toString(36)}`;
  const dir = scratchDir(project);
  const base = await freePortRange(5);
  const names = ['etcd1', 'etcd2', 'etcd3'];
  const cluster = names.map((n) => `${n}=http://${n}:2380`).join(',');
  const service = (cmd: string[], port: number, volume?: string) =>
    [
      `    image: ${TEST_IMAGE}`,
      `    command: ${JSON.stringify(cmd)}`,
      `    ports: ["127.0.0.1:${port}:2379"]`,
      ...(volume ? [`    volumes: ["${volume}:/var/lib/etcd"]`] : []),
      '    restart: unless-stopped',
    ].join('\n');
  const yaml = [
    'version: "2.4"',
    'services:',
    ...names.map((n, i) => `  ${n}:\n${service(ETCD_ARGS(n, cluster, project), base + i, `${n}-data`)}`),
    ...[1, 2].map((j) => `  proxy${j}:\n${service(PROXY_ARGS(names), base + 2 + j)}\n    depends_on: [${names.join(', ')}]`),
    'volumes:',
    ...names.map((n) => `  ${n}-data: {}`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'docker-compose.yml'), yaml);
  const compose = (...a: string[]) => run('docker-compose', ['-p', project, ...a], { cwd: dir, timeoutMs: 300_000 });
  try {
    const started = Date.now();
    const probe = firstWrite(
      names.map((_, i) => `http://127.0.0.1:${base + i}`),
      started + 180_000,
    );
    const up = await compose('up', '-d');
    const upAt = Date.now();
    if (up.code !== 0) throw new Error(`docker-compose up failed: ${up.stderr.slice(-600)}`);
    return { up: upAt - started, firstWrite: (await probe) - started };
  } finally {
    await compose('down', '-v');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The README's path: `cdktf deploy` of the repository app for a 3+2 spec, then `cdktf destroy`. */
async function cdktfDeploy(i: number): Promise<{ deploy: number }> {
  const name = `bncdktf${i}${Date.now().toString(36)}`;
  const dir = scratchDir(name);
  const spec = join(dir, 'cluster.yaml');
  const primaryBase = await freePortRange(9);
  const secondaryBase = await freePortRange(5);
  writeFileSync(
    spec,
    `name: ${name}\nprimaries: 3\nsecondaries: 2\nimage: ${TEST_IMAGE}\nports: { primaryBase: ${primaryBase}, secondaryBase: ${secondaryBase} }\n`,
  );
  const env = { ETCD_CLUSTER_CONFIG: spec, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' };
  const cdktf = join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');
  const out = join(dir, 'out');
  try {
    const deploy = await timed(cdktf, ['deploy', name, '--auto-approve', '--skip-provider-lock', '--output', out], { cwd: REPO_ROOT, env });
    return { deploy };
  } finally {
    await run(cdktf, ['destroy', name, '--auto-approve', '--skip-provider-lock', '--output', out], { cwd: REPO_ROOT, env, timeoutMs: 600_000 });
    for (const file of [`terraform.${name}.tfstate`, `terraform.${name}.tfstate.backup`]) rmSync(join(REPO_ROOT, file), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchDeploy(docker: DockerApi): Promise<void> {
  const ours: OursRun[] = [];
  const plain: number[] = [];
  const compose: { up: number; firstWrite: number }[] = [];
  const cdktf: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so that a shared machine's drift hits all alike.
    plain.push(await dockerRunDeploy(docker));
    compose.push(await composeDeploy());
    ours.push(await oursDeploy(i));
    if (i < 3) cdktf.push((await cdktfDeploy(i)).deploy);
    const o = ours.at(-1)!;
    log(
      `deploy 3+2 run ${i + 1}: docker run ${plain.at(-1)} ms, compose ${compose.at(-1)!.firstWrite} ms, ours init ${o.init} + apply ${o.apply} ms (lag ${o.lag} ms)${cdktf[i] ? `, cdktf deploy ${f(cdktf[i])} ms` : ''}`,
    );
  }
  const col = <K extends Exclude<keyof OursRun, 'byType'>>(k: K) => stats(ours.map((o) => o[k]));
  const lag = col('lag');
  const dockerPart = col('dockerToVerified');
  const plainS = stats(plain);
  const ratio2 = dockerPart.median / plainS.median;
  headlines.push(`the hook passes ${f(lag.median)} ms after a 3+2 cluster's first accepted write (target <= 300 ms: ${verdict(lag.median <= 300)})`);
  headlines.push(`Docker work to verified, 3+2: ${f(ratio2, 2)}x plain \`docker run\` to its first write (target <= 1.05x: ${verdict(ratio2 <= 1.05)})`);
  sections.push({
    n: 2,
    text: `## 2. Deploy to verified

Method: ${RUNS} runs of each, interleaved. *Ours*: the repository stack for 3+2 (3 primaries, 2 grpc-proxy
secondaries, the verify hook) applied by \`terraform apply -json\` with the real provider, after \`terraform
init\` (section 5 times the init and the whole apply). Terraform's own event timestamps give when the first
resource was created, when the last container was, and when the verify hook's command succeeded; a prober
(a put every 20 ms from the start) gives the cluster's first accepted write. *docker run*: the same five
containers (named volumes, one network) started with plain \`docker run\` one after another, timed from
\`docker network create\` to its first accepted write.

| what | ms: median (min–max) |
| --- | --- |
| ours: first resource created -> hook passed | ${fmt(dockerPart)} |
| plain \`docker run\`: network created -> first write | ${fmt(plainS)} |
| ours: first accepted write -> hook passed | ${fmt(lag)} |
| ours: the hook's command, start to success | ${fmt(col('hook'))} |

Targets: the hook passes within 300 ms of the first accepted write: **${verdict(lag.median <= 300)}**
(${f(lag.median)} ms); ours within 1.05x of plain \`docker run\`: **${verdict(ratio2 <= 1.05)}** (${f(ratio2, 2)}x).
The hook starts as soon as the containers exist, while etcd is still electing a leader, so its Node
start-up overlaps the election; it then polls (50 ms growing to at most 250 ms between looks). Where ours
differs from \`docker run\`: Terraform creates the image record, network and volumes first and then the
containers in parallel (the provider waits for each to be running); the provider alone sleeps a fixed ${PROVIDER_NETWORK_WAIT_MS / 1000} s
after creating the network before any container may join it (section 5), which by itself puts the 1.05x
target out of reach of any stack that creates its network through this provider; and ours checks more before it calls
the cluster verified (every member listed, a leader, a write read back through every primary and secondary,
both proxies registered).`,
  });

  const composeW = stats(compose.map((c) => c.firstWrite));
  const whole = stats(ours.map((o) => o.init + o.apply));
  const applyOnly = col('apply');
  const r5 = whole.median / composeW.median;
  const networkCreate = med(ours.map((o) => o.byType.docker_network ?? 0));
  const networkWait = Math.min(networkCreate, PROVIDER_NETWORK_WAIT_MS);
  const withoutWait = (whole.median - networkWait) / composeW.median;
  const cdktfS = stats(cdktf);
  headlines.push(
    `real deploy 3+2 (terraform init + apply, to verified): ${f(r5, 2)}x \`docker-compose up -d\` to first write (target <= 1.5x: ${verdict(r5 <= 1.5)})`,
  );
  sections.push({
    n: 5,
    text: `## 5. The real deploy against Docker Compose

Method: the same runs as section 2. *Ours*: \`terraform init\` (offline, the provider from the local mirror,
the plugin cache warm) then \`terraform apply\` of the synthesized 3+2 stack until Terraform exits, the hook
having verified the cluster. *Compose*: \`docker-compose up -d\` (Debian's docker-compose ${composeVersion()})
of an equivalent file (three etcd services with named volumes and the same flags, two grpc-proxy services,
one network, ports on 127.0.0.1), timed until its first accepted write. *cdktf deploy*: the README's path,
\`cdktf deploy\` of the repository app with a 3+2 spec (synthesis, init, plan, apply, hook), ${cdktf.length} runs.

| what | ms: median (min–max) |
| --- | --- |
| Compose: \`up -d\` returns | ${fmt(stats(compose.map((c) => c.up)))} |
| Compose: first accepted write | ${fmt(composeW)} |
| ours: \`terraform init\` | ${fmt(col('init'))} |
| ours: \`terraform apply\` to exit | ${fmt(applyOnly)} |
| **ours: init + apply** | **${fmt(whole)}** |
| \`cdktf deploy\`, whole command | ${fmt(cdktfS)} |

Where ours spends the apply (medians, ms): refresh, plan and the provider starting until the first resource
is created ${f(col('plan').median)}; creating image record, network, volumes and the five containers
${f(col('containers').median)}; etcd's election after the last container ${f(col('election').median)}; the
hook after the first write ${f(col('hookAfter').median)}; Terraform writing state and exiting ${f(col('exit').median)}.
The longest single create of each resource type, as the provider reports it (start to complete, medians, ms):
${Object.keys(ours[0].byType)
  .sort()
  .map((t) => `${t} ${f(med(ours.map((o) => o.byType[t] ?? 0)))}`)
  .join(', ')}. The provider creates a container and then waits until Docker reports it running; Terraform
starts the containers only after the image record, the network and the volumes they name exist.

Target within 1.5x of Compose: **${verdict(r5 <= 1.5)}** (${f(r5, 2)}x for init + apply; ${f(applyOnly.median / composeW.median, 2)}x
for the apply alone, which is what a deploy after the first costs). What bounds it, measured: the provider
sleeps a fixed ${PROVIDER_NETWORK_WAIT_MS / 1000} s after creating the network before its first read of it (\`networkReadRefreshDelay\` in
its \`resource_docker_network_funcs.go\`; the same wait on every refresh of the network), and no container
can be created before the network it joins exists: the network's create took ${f(networkCreate)} ms here, so
${f(networkWait)} ms of that is the wait (without it: ${f(withoutWait, 2)}x Compose). The members need a
user-defined network (Docker's DNS between them), so ours cannot do without one. Then Terraform's
fixed cost: the init, and the plan with the provider started once per Terraform phase (four short-lived
provider processes before anything is created, each about 0.1-0.15 s in \`TF_LOG\` traces), where Compose
starts creating at once. The containers themselves (create, connect to the network, start: five at once
on two cores) are the rest; compare Compose's \`up -d\` row (network, volumes and the five containers).
\`cdktf deploy\` adds its own CLI and the synthesis to that (section 3): a user in a hurry runs the
synthesized stack with \`terraform apply\` in \`cdktf.out/stacks/<name>\` (\`cdktf synth\` first), which is what
the first rows measure.`,
  });
}

function composeVersion(): string {
  try {
    return execFileSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. Synthesis: the repository app as cdktf runs it, the cdktf CLI's share, and growth in process.

async function benchSynth(): Promise<void> {
  const dir = scratchDir('bnsynth');
  const app = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdktf.json'), 'utf8')) as { app: string }).app;
  const cdktf = join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');
  const rows: string[] = [];
  let app500 = 0;
  let cold500 = 0;
  try {
    for (const n of [0, 500]) {
      const spec = join(dir, `c${n}.yaml`);
      writeFileSync(spec, `name: bnsynth\nprimaries: 3\nsecondaries: ${n}\nports: { primaryBase: 20000, secondaryBase: 30000 }\n`);
      const env = { ETCD_CLUSTER_CONFIG: spec, CHECKPOINT_DISABLE: '1' };
      const appMs: number[] = [];
      const wholeMs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const out = join(dir, `out-${n}-${i}`);
        appMs.push(await timed('sh', ['-c', app], { cwd: REPO_ROOT, env: { ...env, CDKTF_OUTDIR: out } }));
        if (!existsSync(join(out, 'stacks', 'bnsynth', 'cdk.tf.json'))) throw new Error(`the app wrote no stack for 3+${n}`);
        wholeMs.push(await timed(cdktf, ['synth', '--output', join(dir, `whole-${n}-${i}`)], { cwd: REPO_ROOT, env }));
      }
      const a = stats(appMs);
      const w = stats(wholeMs);
      if (n === 500) {
        app500 = a.median;
        // The first run after an edit of the app's sources (its entry file touched): the runner bundles again.
        const now = new Date();
        utimesSync(join(REPO_ROOT, 'main.ts'), now, now);
        cold500 = await timed('sh', ['-c', app], { cwd: REPO_ROOT, env: { ...env, CDKTF_OUTDIR: join(dir, 'out-cold') } });
      }
      log(`synth 3+${n}: app ${fmt(a)} ms, cdktf synth ${fmt(w)} ms`);
      rows.push(`| 3+${n} | ${fmt(a)} | ${fmt(w)} | ${f(w.median - a.median)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Growth, in process (construct building and writing only), one fresh process per run.
  const sizes = [0, 100, 500, 1000];
  const growth: string[] = [];
  const medians: number[] = [];
  for (const n of sizes) {
    const ms: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'run-ts.js'), join(REPO_ROOT, 'bench', 'synth-one.ts'), String(n)], { cwd: REPO_ROOT });
      if (r.code !== 0) throw new Error(`synth of ${n} failed: ${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
      ms.push(out.ms);
      rss.push(out.maxRssMiB);
    }
    medians.push(med(ms));
    growth.push(`| 3+${n} | ${fmt(stats(ms))} | ${fmt(stats(rss))} |`);
  }
  const perSecondary = sizes.slice(1).map((n, k) => (medians[k + 1] - medians[0]) / n);
  headlines.push(
    `the repository app's synth of 3+500: ${f(app500)} ms (target < 1500 ms: ${verdict(app500 < 1500)}); \`cdktf synth\` adds its CLI's share (section 3)`,
  );
  sections.push({
    n: 3,
    text: `## 3. Synthesis

Method: the repository app exactly as \`cdktf.json\` names it (\`${app}\`), run as its own process with the
spec in \`ETCD_CLUSTER_CONFIG\` and \`CDKTF_OUTDIR\` set, as the cdktf CLI runs it; and the whole
\`cdktf synth\` of the same spec. The difference is the cdktf CLI's own share (its start-up, which loads
its whole toolchain, and its checks around the app). ${RUNS} runs each.

| cluster | the app, ms | \`cdktf synth\`, ms | the CLI's share, ms |
| --- | --- | --- | --- |
${rows.join('\n')}

Target for the app on 3+500 under 1500 ms: **${verdict(app500 < 1500)}** (${f(app500)} ms). The first run after an
edit of the app's sources, when \`scripts/run-ts.js\` bundles them again with esbuild: ${f(cold500)} ms (one run).
The runner keeps the bundle while no file in it changed, and gives the stack traces cdktf captures for every
token it creates (about 17 per container, whatever \`App({ stackTraces: false })\` says) an empty trace;
both found with \`--cpu-prof\`. The CLI's share does not depend on the cluster. What a user can do about it:
run the app directly (\`${app}\`; set \`CDKTF_OUTDIR\`) and Terraform on \`cdktf.out/stacks/<name>\`, skipping
the cdktf CLI (no type check on that path; \`npm run build\` type-checks).

Growth, in process (\`bench/synth-one.ts\` through the same runner: construct building and \`app.synth()\` only, one fresh process per run; memory is the process's peak RSS):

| cluster | ms: median (min–max) | peak RSS, MiB |
| --- | --- | --- |
${growth.join('\n')}

Time added per secondary over 3+0: ${sizes
      .slice(1)
      .map((n, k) => `${n}: ${f(perSecondary[k], 2)} ms`)
      .join(', ')} (linear: the per-secondary cost stays within a factor of ${f(Math.max(...perSecondary) / Math.min(...perSecondary), 2)}).`,
  });
}

// ---------------------------------------------------------------------------------------------------------
// 4. Diff minimality.

function benchDiff(): void {
  const rows: string[] = [];
  let worst = 0;
  for (const [n, k] of [
    [0, 1],
    [2, 3],
    [10, 10],
    [100, 50],
  ]) {
    const spec = (s: number) => ({ name: 'diff', primaries: 3, secondaries: s });
    const a = resourcesOf(synthStack(spec(n)));
    const b = resourcesOf(synthStack(spec(n + k)));
    const changed = (x: Map<string, unknown>, y: Map<string, unknown>) =>
      [...new Set([...x.keys(), ...y.keys()])].filter((key) => JSON.stringify(x.get(key)) !== JSON.stringify(y.get(key))).length;
    const up = changed(a, b);
    const down = changed(b, a);
    const ideal = k + 1;
    worst = Math.max(worst, up / ideal, down / ideal);
    rows.push(`| ${n} -> ${n + k} -> ${n} | ${up} / ${ideal} | ${down} / ${ideal} |`);
  }
  headlines.push(`diff minimality: ${f(worst, 2)}x ideal`);
  sections.push({
    n: 4,
    text: `## 4. Diff minimality

Method: synthesize 3+N and 3+(N+k) and count resources added, removed or changed in either direction. Ideal:
the k secondary containers plus the verification hook. (Section 6 shows the same with Terraform's plan.)

| secondaries | up: changed / ideal | down: changed / ideal |
| --- | --- | --- |
${rows.join('\n')}

Worst ratio: ${f(worst, 2)} (1.00 is ideal).`,
  });
}

// ---------------------------------------------------------------------------------------------------------
// 6. Scaling secondaries with real Terraform.

async function benchScaling(): Promise<void> {
  const steps = [0, 20, 40];
  const secondaryBase = await freePortRange(steps.at(-1)! + 2);
  const cluster = await TestCluster.create('scale', { primaries: 3, secondaries: 0, ports: { secondaryBase } }, { namePrefix: BENCH_PREFIX });
  cluster.say = () => undefined;
  const rows: string[] = [];
  const walls: number[] = [];
  try {
    await cluster.apply();
    for (const to of steps.slice(1)) {
      const from = to - 20;
      cluster.deployment.write(cluster.synth({ secondaries: to } as Overrides));
      const standing = await idleLoad();
      const cpu = cpuTimes();
      const { started, ended, events } = await applyJson(cluster.deployment);
      const during = busySince(cpu);
      const created = events.filter((e) => e.type === 'apply_complete' && CONTAINER.test(e.addr ?? '')).length;
      const firstChange = firstAt(events, 'apply_start');
      const hookDone = lastAt(events, 'apply_complete', HOOK);
      walls.push(ended - started);
      log(`scaling 3+${from} -> 3+${to}: ${ended - started} ms, ${created} containers, CPU busy ${f(standing)} % before, ${f(during)} % during`);
      rows.push(
        `| 3+${from} -> 3+${to} | ${ended - started} | ${firstChange - started} | ${lastAt(events, 'apply_complete', CONTAINER) - firstChange} | ${hookDone - lastAt(events, 'apply_complete', CONTAINER)} | ${created} | ${f(standing)} | ${f(during)} |`,
      );
    }
  } finally {
    await cluster.teardown();
  }
  const spread = Math.max(...walls) / Math.min(...walls);
  headlines.push(
    `scaling +20 secondaries with real Terraform: ${walls.map((w) => f(w / 1000, 1)).join(' / ')} s from 0 / 20 existing (grows with the 20 added: ${spread < 1.5 ? 'yes' : 'no'})`,
  );
  sections.push({
    n: 6,
    text: `## 6. Scaling secondaries with real Terraform

Method: one 3+0 cluster, then \`terraform apply -json\` of the stack with 20 more secondaries, twice
(3+0 -> 3+20 -> 3+40), one run each. Phases from Terraform's event timestamps: refresh and plan until
the first change, creating the containers (the provider creates up to 10 at a time, Terraform's default
parallelism), and the verify hook after the last container (it checks every secondary's registration and
reads through each, so it grows with the total).

| step | apply, ms | refresh and plan, ms | containers, ms | hook, ms | containers created | CPU busy before, % | CPU busy during, % |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Grows with the 20 added, not with the total: **${spread < 1.5 ? 'yes' : 'no'}** (the slowest step takes ${f(spread, 2)}x the fastest).
The refresh reads every existing container once, so the plan grows slowly with the total; the creation is
the same 20 containers each time. The last two columns are the share of the machine's CPU busy (from
/proc/stat): over 5 s with the standing cluster alone before the step, and during the apply. Each running
container has its healthcheck exec'd (primaries every ${HEALTHCHECK_INTERVAL.primary}, secondaries every ${HEALTHCHECK_INTERVAL.secondary}), so the standing
cluster's own load grows with its size and every later step creates its containers on a busier machine. Nothing else is planned: no primary, volume, network or image changes
(the integration suite asserts this from the plan).`,
  });
}

// ---------------------------------------------------------------------------------------------------------
// 7. The writer's longest pause during a rollout.

async function benchRollout(): Promise<void> {
  const rows: string[] = [];
  for (const primaries of [3, 5]) {
    const cluster = await TestCluster.create(`roll${primaries}`, { primaries, secondaries: 0 }, { namePrefix: BENCH_PREFIX });
    cluster.say = () => undefined;
    try {
      await cluster.apply();
      const writerClient = cluster.client();
      const writer = new Writer(writerClient, '/bench/roll/', 200_000).start();
      await sleep(1000);
      const t0 = Date.now();
      const r = await cluster.rollout({ etcd: { extraFlags: ['--snapshot-count=5000'] } } as Overrides, ['--json']);
      const wall = Date.now() - t0;
      await sleep(1000);
      const reader = cluster.client();
      const done = await writer.finish(reader);
      reader.close();
      writerClient.close();
      if (r.code !== 0) throw new Error(`rollout of ${primaries} failed: ${r.stderr.slice(-600)}`);
      const steps = (JSON.parse(r.stdout) as { steps: unknown[] }).steps.length;
      log(`rollout ${primaries} primaries: ${done.summary}`);
      rows.push(`| ${primaries} | ${steps} | ${f(wall / 1000, 1)} | ${done.acknowledged} | ${done.failures} | ${done.lost.length} | ${done.longestGapMs} |`);
      headlines.push(`rollout of ${primaries} primaries under a writer: longest pause ${done.longestGapMs} ms, ${done.lost.length} acknowledged writes lost`);
    } finally {
      await cluster.teardown();
    }
  }
  sections.push({
    n: 7,
    text: `## 7. Rolling a flag change through the primaries

Method: a cluster of 3 and one of 5 primaries, a writer putting numbered keys as fast as the cluster
acknowledges them (through a client of every primary), and \`etcd-cluster rollout\` of a changed etcd flag
(\`--snapshot-count=5000\`): one member at a time, followers first, the leader last, each back and caught up
before the next. Afterwards every acknowledged key is read back. One run each.

| primaries | members rolled | rollout, s | writes acknowledged | failed attempts | acknowledged writes lost | writer's longest pause, ms |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

The longest pause is the leader's turn: its container stops (SIGTERM; etcd hands leadership over first) and
the writer's client moves to another member.`,
  });
}

// ---------------------------------------------------------------------------------------------------------
// 8. Throughput through a secondary vs direct.

async function load(endpoint: string, kind: 'put' | 'get', seconds: number, concurrency: number): Promise<number> {
  const c = connect(endpoint, { timeoutMs: 3000 });
  const value = 'x'.repeat(1024);
  let ops = 0;
  try {
    await c.put('/bench/tp/0').value(value);
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = 0; Date.now() < until; i++) {
          if (kind === 'put') await c.put(`/bench/tp/${w}-${i % 100}`).value(value);
          else await c.get('/bench/tp/0').serializable(true).string();
          ops++;
        }
      }),
    );
  } finally {
    c.close();
  }
  return ops / seconds;
}

async function benchThroughput(): Promise<void> {
  const cluster = await TestCluster.create('tp', { primaries: 3, secondaries: 1 }, { namePrefix: BENCH_PREFIX });
  cluster.say = () => undefined;
  const SECONDS = 3;
  const CONC = 16;
  try {
    await cluster.apply();
    const v = await verifyCluster(cluster.expectation, { timeoutMs: 120_000 });
    if (!v.ok) throw new Error('throughput cluster did not verify');
    const direct = cluster.topology.primaries[0].hostClientUrl;
    const proxy = cluster.topology.secondaries[0].hostClientUrl;
    const rows: string[] = [];
    for (const kind of ['put', 'get'] as const) {
      const d: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        d.push(await load(direct, kind, SECONDS, CONC));
        p.push(await load(proxy, kind, SECONDS, CONC));
      }
      const ds = stats(d);
      const ps = stats(p);
      const ratio = ps.median / ds.median;
      log(`${kind}: direct ${fmt(ds)} ops/s, proxy ${fmt(ps)} ops/s`);
      rows.push(`| ${kind === 'put' ? '1 KiB put' : 'serializable get'} | ${fmt(ds)} | ${fmt(ps)} | ${f(ratio, 2)}x |`);
      headlines.push(`${kind === 'put' ? 'puts' : 'serializable gets'} through a secondary: ${f(ratio, 2)}x direct`);
    }
    sections.push({
      n: 8,
      text: `## 8. Throughput through a secondary

Method: a 3+1 cluster; the etcd3 client with ${CONC} concurrent callers for ${SECONDS} s against primary 1
directly, then against the grpc-proxy secondary, alternating, ${RUNS} runs each. Puts write 1 KiB values
over 100 keys per caller; gets are serializable reads of one key.

| operation | direct, ops/s | through the secondary, ops/s | ratio |
| --- | --- | --- | --- |
${rows.join('\n')}

Every put through a proxy takes one more network hop (client -> proxy -> member -> leader) and waits for the
same fsync on a majority, so at a fixed concurrency the extra round trip lowers the rate; serializable gets
are served from the proxy's cache.`,
    });
  } finally {
    await cluster.teardown();
  }
}

async function main(): Promise<void> {
  const docker = await requireEngine();
  if (ONLY.includes('deploy') && !(await run('docker-compose', ['version', '--short'])).stdout.trim()) {
    throw new Error('docker-compose is missing: run scripts/prepare-machine.sh');
  }
  mkdirSync(join(REPO_ROOT, '.work'), { recursive: true });
  const started = Date.now();
  for (const [name, fn] of [
    ['verify', benchVerify],
    ['deploy', () => benchDeploy(docker)],
    ['synth', benchSynth],
    ['diff', async () => benchDiff()],
    ['scaling', benchScaling],
    ['rollout', benchRollout],
    ['throughput', benchThroughput],
  ] as const) {
    if (!ONLY.includes(name)) continue;
    log(`${name}...`);
    await fn();
  }
  const version = (await docker.call('GET', '/version')).Version;
  const tf = (await run('terraform', ['version'])).stdout.split('\n')[0];
  const doc = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${f((Date.now() - started) / 1000)} s)${ONLY.length < ALL.length ? `, sections: ${ONLY.join(', ')}` : ''}.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${f(totalmem() / 2 ** 30)} GiB, Node ${process.version}, Docker engine ${version},
${tf}, kreuzwerker/docker from the local mirror, image \`${TEST_IMAGE}\`.
A shared machine: compare figures within one run, not across runs. Figures are median (min–max) over the
runs stated; ratios are of medians. Nothing here is asserted by a test.

Headlines:
${headlines.map((h) => `- ${h}`).join('\n')}

${sections
  .sort((a, b) => a.n - b.n)
  .map((s) => s.text)
  .join('\n\n')}
`;
  writeFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), doc);
  log('wrote BENCHMARKS.md');
}

main().catch((e) => {
  process.stderr.write(`bench: failed: ${(e as Error).message}\n`);
  process.exit(1);
});
