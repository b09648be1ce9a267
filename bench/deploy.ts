/**
 * Sections 2 and 5: deploying 3+2 to verified, ours through Terraform against plain `docker run` and
 * Docker Compose, interleaved; and the README's `cdktf deploy`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePortRange, TEST_IMAGE } from '../test/harness/env';
import type { DockerApi } from '../test/harness/docker-api';
import { TestCluster } from '../test/harness/test-cluster';
import { REPO_ROOT, run, scratchDir } from '../test/helpers/synth';
import {
  applyJson,
  BENCH_PREFIX,
  ETCD_ARGS,
  CONTAINER,
  f,
  firstAt,
  firstWrite,
  fmt,
  HOOK,
  lastAt,
  log,
  med,
  PROVIDER_NETWORK_WAIT_MS,
  stats,
  timed,
  verdict,
  type Bench,
  type TfEvent,
} from './shared';

const execFileP = promisify(execFile);

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
  /** Our network step (\`etcd-cluster network create\` in a terraform_data), start to complete. */
  network: number;
  /** The longest create of each resource type (docker_container, terraform_data, ...), start to complete. */
  byType: Record<string, number>;
}

const NETWORK_STEP = /network_step/;

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
      network: lastAt(events, 'apply_complete', NETWORK_STEP) - firstAt(events, 'apply_start', NETWORK_STEP),
      byType: createTimes(events),
    };
  } finally {
    await cluster.teardown();
  }
}

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

export async function benchDeploy(bench: Bench): Promise<void> {
  const { docker } = bench;
  const ours: OursRun[] = [];
  const plain: number[] = [];
  const compose: { up: number; firstWrite: number }[] = [];
  const cdktf: number[] = [];
  for (let i = 0; i < bench.runs; i++) {
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
  bench.headlines.push(`the hook passes ${f(lag.median)} ms after a 3+2 cluster's first accepted write (target <= 300 ms: ${verdict(lag.median <= 300)})`);
  bench.headlines.push(`Docker work to verified, 3+2: ${f(ratio2, 2)}x plain \`docker run\` to its first write (target <= 1.05x: ${verdict(ratio2 <= 1.05)})`);
  bench.sections.push({
    n: 2,
    text: `## 2. Deploy to verified

Method: ${bench.runs} runs of each, interleaved. *Ours*: the repository stack for 3+2 (3 primaries, 2 grpc-proxy
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
containers, the secondaries in parallel and the founders one after another as \`docker run\` does (the volume
of each waits until the founder before it runs: section 5), the provider waiting for each to be running, so
etcd's election starts once the last primary is up (section 5 splits the apply); and ours checks more before it calls
the cluster verified (every member listed, a leader, a write read back through every primary and secondary,
both proxies registered).`,
  });

  const composeW = stats(compose.map((c) => c.firstWrite));
  const whole = stats(ours.map((o) => o.init + o.apply));
  const applyOnly = col('apply');
  const r5 = whole.median / composeW.median;
  const cdktfS = stats(cdktf);
  bench.headlines.push(
    `real deploy 3+2 (terraform init + apply, to verified): ${f(r5, 2)}x \`docker-compose up -d\` to first write (target <= 1.5x: ${verdict(r5 <= 1.5)}; issue 27's <= 1.05x: ${verdict(r5 <= 1.05)})`,
  );
  bench.sections.push({
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

Targets within 1.5x of Compose, and issue 27's within 1.05x: **${verdict(r5 <= 1.5)}**, **${verdict(r5 <= 1.05)}** (${f(r5, 2)}x for init + apply; ${f(applyOnly.median / composeW.median, 2)}x
for the apply alone, which is what a deploy after the first costs).

The founders start one after another (the README's "What the primaries get"): etcd, booting a member
without data, asks each peer for its member list and waits up to 1 s per peer; a peer booting at the same
moment has bound its peer port but serves it only after its own boot, so members started together wait
those seconds out on one another. Measured before this change, from the members' logs: 1.9-2.0 s between
\`bootstrapping cluster\` and \`bootstrapping storage\` on every founder of a 3+2 deploy, whose containers
Terraform started within 170 ms; the apply took about 4.0 s to verified, the "election" phase above about 2.1 s
(this file's run before the change: apply 3774 ms, election 2139 ms, Compose's first write 3189 ms). Compose
starts its members together and pays the same wait (its first write comes 1.7 s after \`up -d\` returns).
Each founder's volume now waits until the founder before it runs, so each finds the earlier ones serving and
the later ones absent, and answers at once; the founders' containers are created one after another (the
containers row above), and the election follows the last one within about 0.1 s (the election figure above).

What else bounds it, measured: no container
can be created before the network it joins exists, and the members need a user-defined network (Docker's
DNS between them). Our own step makes it (\`etcd-cluster network create\` in a \`terraform_data\`: ${f(col('network').median)} ms
here, a Node process and one Docker call) and the provider's data source reads it without a wait; the
provider's \`docker_network\` resource, used before issue 27, slept a fixed ${PROVIDER_NETWORK_WAIT_MS / 1000} s after creating it and on
every refresh (section 10). Then the founders one after another and etcd's election after the last. Then Terraform's
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
