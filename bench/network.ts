/**
 * Issue 27's measurements, one run of each, written to stdout as Markdown (and as JSON to the file
 * `--json <file>` names): what every Terraform run pays for the cluster's network, and where the time of a
 * scaling step and of a rollout goes. Never part of the tests; nothing here passes or fails on time. Real
 * Terraform and the real provider, as users deploy; everything talks to 127.0.0.1 and the local engine.
 *
 *   npx ts-node bench/network.ts [--runs 3] [--only plan,deploy,scaling,rollout] [--steps 0,20,40,60]
 *                                [--parallelism 10] [--json file]
 *
 * - plan: a standing 3+2 cluster; `terraform plan` against `terraform plan -refresh=false` of the same
 *   stack, interleaved; and on the same cluster `node -e 0` against the verify hook's own command.
 * - deploy: `terraform init` + `terraform apply -json` of a fresh 3+2 to the verify hook's success, against
 *   `docker-compose up -d` of the same five containers to the first accepted write, interleaved.
 * - scaling: secondaries 0 -> 20 -> 40 (-> 60) on 3 primaries, one `terraform apply -json` each, split
 *   by Terraform's own event timestamps into refresh, planning, container creation, the hook and the end.
 * - rollout: `etcd-cluster rollout` of a flag change through 3 primaries, each of its steps timed by when
 *   its progress lines arrived.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePortRange, requireEngine, TEST_IMAGE } from '../test/harness/env';
import type { Deployment } from '../test/harness/deployment';
import { TestCluster, type Overrides } from '../test/harness/test-cluster';
import { REPO_ROOT, run, scratchDir } from '../test/helpers/synth';
import { ETCD_ARGS, firstWrite } from './shared';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const RUNS = Number(opt('--runs')) || 3;
const ONLY = (opt('--only') ?? 'plan,deploy,scaling,rollout').split(',');
const STEPS = (opt('--steps') ?? '0,20,40,60').split(',').map(Number);
const PARALLELISM = opt('--parallelism');
const JSON_OUT = opt('--json');
/** With `--profile <dir>`: one run of the verify hook's command under `node --cpu-prof`, its profile written there. */
const PROFILE_DIR = opt('--profile');
const PREFIX = 'bn';
const HOOK_ENV = 'ETCD_CLUSTER_EXPECTED';

const log = (line: string) => process.stderr.write(`bench-network: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const span = (xs: number[]) => `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;
const out: string[] = [];
const results: Record<string, unknown> = {};

/** Wall time of a command in milliseconds; throws with its output when it fails. */
async function timed(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await run(cmd, argv, { ...opts, timeoutMs: 600_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0 && !(cmd === 'terraform' && r.code === 2))
    throw new Error(`${cmd} ${argv.join(' ')} exited ${r.code}: ${(r.stdout + r.stderr).slice(-600)}`);
  return ms;
}

interface TfEvent {
  type: string;
  at: number;
  addr?: string;
  /** The resource action of apply events: create, delete, update, read. */
  action?: string;
  message: string;
}

/** `terraform apply -json`: the wall time and every event with Terraform's own timestamp. */
async function applyJson(dep: Deployment): Promise<{ started: number; ended: number; events: TfEvent[] }> {
  const started = Date.now();
  const extra = PARALLELISM ? [`-parallelism=${PARALLELISM}`] : [];
  const r = await dep.terraform(['apply', '-input=false', '-auto-approve', '-json', ...extra], 1_800_000);
  const ended = Date.now();
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; '@timestamp': string; '@message': string; hook?: { resource?: { addr?: string }; action?: string } })
    .map((e) => ({ type: e.type, at: Date.parse(e['@timestamp']), addr: e.hook?.resource?.addr, action: e.hook?.action, message: e['@message'] }));
  if (r.code !== 0)
    throw new Error(
      `terraform apply failed: ${
        events
          .filter((e) => e.type === 'diagnostic')
          .map((e) => e.message)
          .join('; ') || r.stderr.slice(-600)
      }`,
    );
  return { started, ended, events };
}

/** When events of this type happened (by Terraform's clock), for resources of this address; deletes only with `deletes`. */
const times = (events: TfEvent[], type: string, addr: RegExp = /./, deletes = false) =>
  events.filter((e) => e.type === type && addr.test(e.addr ?? '') && (deletes || e.action !== 'delete')).map((e) => e.at);
const first = (...a: Parameters<typeof times>) => Math.min(...times(...a));
const last = (...a: Parameters<typeof times>) => Math.max(...times(...a));
const HOOK = /verify_hook/;
const CONTAINER = /^docker_container\./;

/** Where one apply's time went, by Terraform's own clock (ms). */
function phases(started: number, ended: number, events: TfEvent[]) {
  const refreshStart = first(events, 'refresh_start');
  const refreshEnd = last(events, 'refresh_complete');
  const firstChange = first(events, 'apply_start', /./, true);
  const lastContainer = last(events, 'apply_complete', CONTAINER);
  const hookStart = first(events, 'apply_start', HOOK);
  const hookDone = last(events, 'apply_complete', HOOK);
  // The longest create of each resource type, start to complete.
  const byType: Record<string, number> = {};
  for (const done of events.filter((e) => e.type === 'apply_complete' && e.addr)) {
    const start = events.find((e) => e.type === 'apply_start' && e.addr === done.addr);
    const type = done.addr!.startsWith('data.') ? `data.${done.addr!.split('.')[1]}` : done.addr!.split('.')[0];
    if (start) byType[type] = Math.max(byType[type] ?? 0, done.at - start.at);
  }
  // Each container's own create (start to complete) and each resource's own refresh, median: what grows per item.
  const each = (start: string, done: string, addr: RegExp) =>
    median(
      events
        .filter((e) => e.type === done && addr.test(e.addr ?? '') && e.action !== 'delete')
        .map((d) => d.at - (events.find((e) => e.type === start && e.addr === d.addr && e.action !== 'delete')?.at ?? d.at)),
    );
  return {
    wall: ended - started,
    containerCreateMedian: each('apply_start', 'apply_complete', CONTAINER),
    refreshMedian: each('refresh_start', 'refresh_complete', CONTAINER),
    // Terraform's start, provider start-up and the refresh of what exists (0 refreshed: no refresh events).
    refresh: Number.isFinite(refreshStart) ? refreshEnd - refreshStart : 0,
    refreshed: times(events, 'refresh_complete').length,
    untilFirstChange: firstChange - started,
    containers: Number.isFinite(lastContainer) ? lastContainer - firstChange : 0,
    created: times(events, 'apply_complete', CONTAINER).length,
    beforeHook: hookStart - (Number.isFinite(lastContainer) ? lastContainer : firstChange),
    hook: hookDone - hookStart,
    exit: ended - hookDone,
    firstChange,
    hookDone,
    byType,
  };
}

/** The machine's CPU counters (all cores): busy and total jiffies, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - (fields[4] ?? 0), total };
}
/** The share of the machine's CPU busy (0-100 %) since a `cpuTimes()`. */
function busySince(from: { busy: number; total: number }): number {
  const now = cpuTimes();
  return (100 * (now.busy - from.busy)) / Math.max(1, now.total - from.total);
}

// ---------------------------------------------------------------------------------------------------------

async function benchPlan(): Promise<void> {
  const cluster = await TestCluster.create('plan', { primaries: 3, secondaries: 2 }, { namePrefix: PREFIX });
  cluster.say = () => undefined;
  try {
    await cluster.apply();
    const dep = cluster.deployment;
    const dir = dep.dir;
    const tf = (extra: string[]) => timed('terraform', ['plan', '-input=false', '-detailed-exitcode', '-no-color', ...extra], { cwd: dir, env: dep.env });
    await tf([]); // warm the page cache and the provider binary
    const plan: number[] = [];
    const noRefresh: number[] = [];
    for (let i = 0; i < Math.max(RUNS, 5); i++) {
      plan.push(await tf([]));
      noRefresh.push(await tf(['-refresh=false']));
    }
    // The verify hook's own command, from the stack directory with its environment, as Terraform runs it.
    const hook = Object.values(dep.config().resource.terraform_data).find((r) => HOOK_ENV in (hookEnvOf(r) ?? {}))!;
    const command = (hook.provisioner as { 'local-exec': { command: string } }[])[0]['local-exec'].command;
    const env = { [HOOK_ENV]: JSON.stringify(hook.input) };
    await timed('sh', ['-c', command], { cwd: dir, env }); // writes the code cache, as the first hook does
    const node: number[] = [];
    const verify: number[] = [];
    for (let i = 0; i < 10; i++) {
      node.push(await timed(process.execPath, ['-e', '0'], { cwd: dir }));
      verify.push(await timed('sh', ['-c', command], { cwd: dir, env }));
    }
    if (PROFILE_DIR) {
      // (Node refuses --cpu-prof in NODE_OPTIONS: it goes on the hook's own command line.)
      await timed('sh', ['-c', command.replace(/^node /, `node --cpu-prof --cpu-prof-dir=${PROFILE_DIR} `)], { cwd: dir, env });
      await timed(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, '-e', '0'], { cwd: dir });
    }
    results.plan = { plan, noRefresh, node, verify };
    out.push(`## terraform plan on a standing 3+2, and the hook's verify

| what | ms: median (min–max), ${plan.length} runs interleaved |
| --- | --- |
| \`terraform plan\` | ${span(plan)} |
| \`terraform plan -refresh=false\` | ${span(noRefresh)} |
| ratio | ${(median(plan) / median(noRefresh)).toFixed(2)}x |
| \`node -e 0\` (10 runs, interleaved with the next row) | ${span(node)} |
| the verify hook's command, as Terraform runs it | ${span(verify)} |
| ratio | ${(median(verify) / median(node)).toFixed(2)}x |
`);
    log(`plan ${span(plan)} ms, -refresh=false ${span(noRefresh)} ms; node ${span(node)} ms, verify ${span(verify)} ms`);
  } finally {
    await cluster.teardown();
  }
}

function hookEnvOf(r: Record<string, unknown>): Record<string, string> | undefined {
  return (r.provisioner as { 'local-exec'?: { environment?: Record<string, string> } }[] | undefined)?.[0]?.['local-exec']?.environment;
}

// ---------------------------------------------------------------------------------------------------------

/** `docker-compose up -d` of the same 3+2 (named volumes, one network, ports on 127.0.0.1), until the first write. */
async function composeDeploy(): Promise<number> {
  const project = `bncompose${Date.now().toString(36)}`;
  const dir = scratchDir(project);
  const base = await freePortRange(5);
  const names = ['etcd1', 'etcd2', 'etcd3'];
  const cluster = names.map((n) => `${n}=http://${n}:2380`).join(',');
  const proxy = ['/usr/local/bin/etcd', 'grpc-proxy', 'start', `--endpoints=${names.map((n) => `${n}:2379`).join(',')}`, '--listen-addr=0.0.0.0:2379'];
  const service = (cmd: string[], port: number, volume?: string) =>
    [
      `    image: ${TEST_IMAGE}`,
      `    command: ${JSON.stringify(cmd)}`,
      `    ports: ["127.0.0.1:${port}:2379"]`,
      ...(volume ? [`    volumes: ["${volume}:/var/lib/etcd"]`] : []),
      '    restart: unless-stopped',
    ].join('\n');
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    [
      'version: "2.4"',
      'services:',
      ...names.map((n, i) => `  ${n}:\n${service(ETCD_ARGS(n, cluster, project), base + i, `${n}-data`)}`),
      ...[1, 2].map((j) => `  proxy${j}:\n${service(proxy, base + 2 + j)}\n    depends_on: [${names.join(', ')}]`),
      'volumes:',
      ...names.map((n) => `  ${n}-data: {}`),
      '',
    ].join('\n'),
  );
  const compose = (...a: string[]) => run('docker-compose', ['-p', project, ...a], { cwd: dir, timeoutMs: 300_000 });
  try {
    const started = Date.now();
    const probe = firstWrite(
      names.map((_, i) => `http://127.0.0.1:${base + i}`),
      started + 180_000,
    );
    const up = await compose('up', '-d');
    if (up.code !== 0) throw new Error(`docker-compose up failed: ${up.stderr.slice(-600)}`);
    return (await probe) - started;
  } finally {
    await compose('down', '-v');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function oursDeploy(i: number) {
  const cluster = await TestCluster.create(`dep${i}`, { primaries: 3, secondaries: 2 }, { namePrefix: PREFIX });
  cluster.say = () => undefined;
  try {
    const dep = cluster.deployment;
    dep.write(cluster.synth());
    const t0 = Date.now();
    await dep.init();
    const init = Date.now() - t0;
    const { started, ended, events } = await applyJson(dep);
    const p = phases(started, ended, events);
    return { init, apply: ended - started, toVerified: p.hookDone - started, ...p };
  } finally {
    await cluster.teardown();
  }
}

async function benchDeploy(): Promise<void> {
  const compose: number[] = [];
  const ours: Awaited<ReturnType<typeof oursDeploy>>[] = [];
  for (let i = 0; i < RUNS; i++) {
    compose.push(await composeDeploy());
    ours.push(await oursDeploy(i));
    log(`deploy run ${i + 1}: compose ${compose.at(-1)} ms, ours init ${ours.at(-1)!.init} + apply ${ours.at(-1)!.apply} ms`);
  }
  results.deploy = { compose, ours };
  const whole = ours.map((o) => o.init + o.apply);
  const types = [...new Set(ours.flatMap((o) => Object.keys(o.byType)))].sort();
  out.push(`## Real deploy of 3+2 against docker-compose

| what | ms: median (min–max), ${RUNS} runs interleaved |
| --- | --- |
| \`docker-compose up -d\` to the first accepted write | ${span(compose)} |
| ours: \`terraform init\` + \`terraform apply\` (to verified, and Terraform's exit) | ${span(whole)} |
| ours: \`terraform apply\` alone | ${span(ours.map((o) => o.apply))} |
| ours: apply start -> the hook passed | ${span(ours.map((o) => o.toVerified))} |
| ratio init + apply / compose | ${(median(whole) / median(compose)).toFixed(2)}x |
| ratio apply / compose | ${(median(ours.map((o) => o.apply)) / median(compose)).toFixed(2)}x |

Inside the apply (ms, median): until the first change ${Math.round(median(ours.map((o) => o.untilFirstChange)))}, first change -> last container
${Math.round(median(ours.map((o) => o.containers)))}, last container -> hook start ${Math.round(median(ours.map((o) => o.beforeHook)))}, the hook ${Math.round(median(ours.map((o) => o.hook)))}, hook -> exit ${Math.round(median(ours.map((o) => o.exit)))}.
Longest create by type (ms, median): ${types.map((t) => `${t} ${Math.round(median(ours.map((o) => o.byType[t] ?? 0)))}`).join(', ')}.
`);
}

// ---------------------------------------------------------------------------------------------------------

async function benchScaling(): Promise<void> {
  const secondaryBase = await freePortRange(STEPS.at(-1)! + 2);
  const cluster = await TestCluster.create('scale', { primaries: 3, secondaries: STEPS[0], ports: { secondaryBase } }, { namePrefix: PREFIX });
  cluster.say = () => undefined;
  const rows: string[] = [];
  const data: unknown[] = [];
  try {
    await cluster.apply();
    for (const [k, to] of STEPS.slice(1).entries()) {
      const from = STEPS[k];
      cluster.deployment.write(cluster.synth({ secondaries: to } as Overrides));
      // What the standing cluster costs the machine before the step (its healthchecks, the proxies' leases).
      const before = cpuTimes();
      await sleep(5000);
      const standing = busySince(before);
      // What the provider does in every container read (its fetchDockerContainer lists all containers of the host).
      const list: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = process.hrtime.bigint();
        await cluster.docker.call('GET', '/containers/json?all=1');
        list.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const { started, ended, events } = await applyJson(cluster.deployment);
      const p = phases(started, ended, events);
      data.push({ from, to, listMs: median(list), standing, ...p });
      log(`scaling 3+${from} -> 3+${to}: ${p.wall} ms`);
      rows.push(
        `| 3+${from} -> 3+${to} | ${p.wall} | ${p.refresh} (${p.refreshed}) | ${p.untilFirstChange} | ${p.containers} (${p.created}) | ${p.beforeHook} | ${p.hook} | ${p.exit} | ${Math.round(p.containerCreateMedian)} | ${Math.round(p.refreshMedian)} | ${median(list).toFixed(1)} | ${standing.toFixed(0)} |`,
      );
    }
  } finally {
    await cluster.teardown();
  }
  results.scaling = data;
  const walls = (data as { wall: number }[]).map((d) => d.wall);
  out.push(`## Scaling secondaries by 20, one real apply each${PARALLELISM ? ` (-parallelism=${PARALLELISM})` : ''}

| step | apply, ms | refresh, ms (resources) | start -> first change, ms | containers, ms (created) | last container -> hook, ms | hook, ms | hook -> exit, ms | one container's create, ms (median) | one container's refresh, ms (median) | listing all containers, ms | CPU busy before, % |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Last step / first step: ${(walls.at(-1)! / walls[0]).toFixed(2)}x.
`);
}

// ---------------------------------------------------------------------------------------------------------

/** Runs a command and timestamps every line it writes to stderr. */
function runLines(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; lines: { at: number; text: string }[]; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: { at: number; text: string }[] = [];
    let buf = '';
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const text of parts) lines.push({ at: Date.now(), text });
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, lines, stdout }));
  });
}

async function benchRollout(): Promise<void> {
  const cluster = await TestCluster.create('roll', { primaries: 3, secondaries: 2 }, { namePrefix: PREFIX });
  cluster.say = () => undefined;
  try {
    await cluster.apply();
    cluster.deployment.write(cluster.synth({ etcd: { extraFlags: ['--snapshot-count=5000'] } } as Overrides));
    await cluster.deployment.init();
    const started = Date.now();
    const r = await runLines(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'etcd-cluster.js'), 'rollout', '--stack', cluster.deployment.dir, '--json', '--yes'],
      cluster.deployment.env,
    );
    const ended = Date.now();
    if (r.code !== 0)
      throw new Error(
        `rollout failed: ${r.lines
          .map((l) => l.text)
          .join('\n')
          .slice(-800)}`,
      );
    const marks = [{ at: started, text: 'start' }, ...r.lines.filter((l) => /^(planning|rolling|applying)/.test(l.text)), { at: ended, text: 'done' }];
    const rows = marks.slice(0, -1).map((m, k) => `| ${m.text.replace(/:.*/, '')} | ${marks[k + 1].at - m.at} |`);
    results.rollout = { wall: ended - started, marks };
    out.push(`## Rollout of a flag change through 3 primaries (3+2)

| step (from its progress line to the next) | ms |
| --- | --- |
${rows.join('\n')}
| whole rollout | ${ended - started} |
`);
    log(`rollout ${ended - started} ms`);
  } finally {
    await cluster.teardown();
  }
}

async function main(): Promise<void> {
  await requireEngine();
  const started = Date.now();
  for (const [name, fn] of [
    ['plan', benchPlan],
    ['deploy', benchDeploy],
    ['scaling', benchScaling],
    ['rollout', benchRollout],
  ] as const) {
    if (!ONLY.includes(name)) continue;
    log(`${name}...`);
    await fn();
  }
  const head = `# Network and scaling measurements (bench/network.ts)\n\n${new Date().toISOString()}, ${Math.round((Date.now() - started) / 1000)} s, git ${(
    await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT })
  ).stdout.trim()}; one run, ratios of medians within it.\n`;
  process.stdout.write([head, ...out].join('\n'));
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));
}

main().catch((e) => {
  process.stderr.write(`bench-network: failed: ${(e as Error).message}\n`);
  process.exit(1);
});
