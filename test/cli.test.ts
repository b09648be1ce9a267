/** Bad input to the CLI: one line on stderr, exit code 2, no stack trace. Runs the real bin. */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../lib/cli';
import { askOn } from '../lib/cli/io';
import { v020Stack } from './helpers/fixture-stack';
import { REPO_ROOT, run, scratchDir } from './helpers/synth';

jest.setTimeout(60_000);
const BIN = join(REPO_ROOT, 'bin', 'etcd-cluster.js');

function stackDir(tf: unknown): string {
  const dir = join(scratchDir('cli'), 'stack');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cdk.tf.json'), typeof tf === 'string' ? tf : JSON.stringify(tf));
  return dir;
}

const goodTarget = {
  cluster: 'x',
  primaries: [
    {
      name: 'x-primary-1',
      index: 1,
      peerUrl: 'http://x-primary-1:2380',
      clientUrl: 'http://x-primary-1:2379',
      endpoint: 'http://127.0.0.1:1',
      metrics: null,
      docker: null,
      volume: 'x-primary-1-data',
    },
  ],
  tls: null,
  auth: null,
  image: { ref: 'etcd:3.5.21', version: '3.5.21' },
};
const goodExpectation = {
  kind: 'cdktf-etcd-cluster/expectation',
  version: 2,
  target: goodTarget,
  registryPrefix: '/p',
  verifyPrefix: '/v/',
  secondaries: [],
  minRevision: null,
  backup: null,
};

// Every row has all four cells: jest takes a test function with one parameter more than the row for `done`.
const CASES: [string, () => string[], RegExp, NodeJS.ProcessEnv][] = [
  ['no command', () => [], /^Usage: etcd-cluster/, {}],
  ['unknown command', () => ['frobnicate'], /^etcd-cluster: unknown command 'frobnicate'\n$/, {}],
  ['unknown flag', () => ['verify', '--frob'], /^etcd-cluster: unknown option '--frob'\n$/, {}],
  [
    'bad timeout',
    () => ['verify', '--timeout', 'soon'],
    /^etcd-cluster: option '--timeout <seconds>' argument 'soon' is invalid\. expected seconds between 0 and 3600, got "soon"\n$/,
    {},
  ],
  [
    'no expectation at all',
    () => ['verify'],
    /^etcd-cluster: no expected cluster: no cluster.yaml here \(ETCD_CLUSTER_CONFIG names another\) and no stack under cdktf.out\/stacks; pass --spec <file> or --stack <dir>\n$/,
    {},
  ],
  [
    'missing stack directory',
    () => ['verify', '--stack', '/nonexistent/stack'],
    /^etcd-cluster: --stack: \/nonexistent\/stack is not a directory \(run cdktf synth first\)\n$/,
    {},
  ],
  [
    'stack without cdk.tf.json',
    () => ['members', '--stack', scratchDir('empty')],
    /^etcd-cluster: --stack: .* holds no cdk.tf.json \(run cdktf synth first\)\n$/,
    {},
  ],
  ['stack that is not JSON', () => ['verify', '--stack', stackDir('{nope')], /^etcd-cluster: .*cdk.tf.json: not valid JSON: .*\n$/, {}],
  [
    'stack without a hook',
    () => ['verify', '--stack', stackDir({ resource: {} })],
    /^etcd-cluster: .*cdk.tf.json: holds no etcd cluster verification hook \(was verify.enabled false\?\)\n$/,
    {},
  ],
  [
    'malformed expectation in the stack',
    () => [
      'verify',
      '--stack',
      stackDir({ resource: { terraform_data: { h: { input: { ...goodExpectation, target: { ...goodTarget, primaries: [{ name: 'x' }] } } } } } }),
    ],
    /^etcd-cluster: .*cdk.tf.json: malformed expectation: target.primaries.0.index: .*\n$/,
    {},
  ],
  [
    'unknown cluster',
    () => ['verify', '--cluster', 'other', '--stack', stackDir({ resource: { terraform_data: { h: { input: goodExpectation } } } })],
    /^etcd-cluster: --cluster: no cluster named other \(found: x\)\n$/,
    {},
  ],
  ['stack and spec both', () => ['verify', '--stack', 'a', '--spec', 'b'], /^etcd-cluster: --stack and --spec: give one of them, not both\n$/, {}],
  [
    'bad spec',
    () => {
      const d = scratchDir('cli');
      writeFileSync(join(d, 'c.yaml'), 'name: x\nprimaries: 2\n');
      return ['verify', '--spec', join(d, 'c.yaml')];
    },
    /^etcd-cluster: .*c.yaml: primaries: an even count .* \(got 2\)\n$/,
    {},
  ],
  ['malformed hook environment', () => ['verify'], /^etcd-cluster: ETCD_CLUSTER_EXPECTED: not valid JSON: .*\n$/, { ETCD_CLUSTER_EXPECTED: '{' }],
  [
    'network without the step',
    () => ['network', 'create'],
    /^etcd-cluster: --stack: give the stack directory \(found 0 under cdktf\.out\/stacks; run cdktf synth first\)\n$/,
    {},
  ],
  [
    'malformed network',
    () => ['network', 'remove'],
    /^etcd-cluster: ETCD_CLUSTER_NETWORK: malformed network: name: .*\n$/,
    { ETCD_CLUSTER_NETWORK: JSON.stringify({ kind: 'cdktf-etcd-cluster/network', cluster: 'x', driver: 'bridge', labels: {}, subnet: null, gateway: null }) },
  ],
  [
    'network of a stack without networks',
    () => ['network', 'create', '--stack', stackDir({ resource: {} })],
    /^etcd-cluster: .*cdk.tf.json: holds no network of an etcd cluster\n$/,
    {},
  ],
];

describe('bad input to etcd-cluster', () => {
  test.each(CASES)('%s', async (_name, args, stderr, env) => {
    // In an empty directory: with no flags the CLI looks for ./cluster.yaml and cdktf.out/stacks.
    const r = await run(process.execPath, [BIN, ...args()], { cwd: scratchDir('cli-cwd'), env: { ETCD_CLUSTER_EXPECTED: '', ...env } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(stderr);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});

describe('verify against nothing', () => {
  test('a cluster where nothing answers fails with exit 3 (nothing could be checked) and names every member', async () => {
    const dir = stackDir({ resource: { terraform_data: { h: { input: goodExpectation } } } });
    const r = await run(process.execPath, [BIN, 'verify', '--stack', dir, '--timeout', '3', '--json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ subject: 'x-primary-1', message: expect.stringMatching(/^unreachable at http:\/\/127.0.0.1:1: .*ECONNREFUSED/) }]);
    expect(report.attempts).toBeGreaterThan(1);
  });
});

describe('what release 0.2.0 recorded (contract version 1) is still read', () => {
  // Ports 1..3 and 11..12 on loopback: nothing listens, every call is refused at once.
  const old = v020Stack({ name: 'legacy', image: 'etcd:any', primaryBase: 1, secondaryBase: 11 });

  test("member remove with a version-1 input (a removed block's destroy-time provisioner) asks the primaries it lists", async () => {
    const input = (old.resource.terraform_data['cluster_primary-2_member'] as { input: unknown }).input;
    const r = await run(process.execPath, [BIN, 'member', 'remove'], { env: { ETCD_CLUSTER_MEMBER: JSON.stringify(input) } });
    expect(r.stderr).toMatch(/^etcd-cluster: no member of legacy answers \(http:\/\/127\.0\.0\.1:1: .*; http:\/\/127\.0\.0\.1:2: .*\)\n$/);
    expect(r.code).toBe(3);
  });

  test('verify --stack on a stack synthesized by 0.2.0 checks every member it declares', async () => {
    const r = await run(process.execPath, [BIN, 'verify', '--stack', stackDir(old), '--timeout', '1', '--json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { members: { name: string; state: string }[] };
    expect(report.members.map((m) => `${m.name} ${m.state}`)).toEqual([
      'legacy-primary-1 unreachable',
      'legacy-primary-2 unreachable',
      'legacy-primary-3 unreachable',
      'legacy-secondary-1 unknown',
      'legacy-secondary-2 unknown',
    ]);
  });
});

test('Ctrl-C or Ctrl-D at a question is no answer, not a failure', async () => {
  const { PassThrough } = await import('node:stream');
  const ask = (typed: (input: InstanceType<typeof PassThrough>) => void) => {
    const input = new PassThrough();
    const answer = askOn(input, new PassThrough(), 'recover d from d-primary-1? [y/N] ');
    setImmediate(() => typed(input));
    return answer;
  };
  expect(await ask((i) => i.end())).toBe('');
  expect(await ask((i) => i.write('yes\n'))).toBe('yes');
});

test('table pads columns to the widest cell', () => {
  expect(
    table(
      ['A', 'BB'],
      [
        ['xxx', 'y'],
        ['z', 'wwww'],
      ],
    ),
  ).toBe('A     BB\nxxx   y\nz     wwww\n');
});

describe('what the CLI finds with no flags, and what it says about itself', () => {
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  test('--version prints the package version', async () => {
    const r = await run(process.execPath, [BIN, '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });

  test('the bundled CLI loads what a command needs lazily: the YAML printer and the certificate maker work', async () => {
    const dir = scratchDir('cli-lazy');
    writeFileSync(join(dir, 'm.yaml'), 'name: lazy\nprimaries: 1\nmetrics: {}\ntls: { dir: pki }\n');
    const scrape = await run(process.execPath, [BIN, 'scrape-config', '--spec', 'm.yaml'], { cwd: dir });
    expect(scrape.stderr).toBe('');
    expect(scrape.code).toBe(0);
    expect(scrape.stdout).toMatch(/^scrape_configs:\n {2}- job_name: etcd-lazy$/m);
    const pki = await run(process.execPath, [BIN, 'pki', '--spec', 'm.yaml'], { cwd: dir });
    expect(pki.code).toBe(0);
    expect(pki.stdout).toMatch(/created ca\.crt, lazy-primary-1\.crt/);
  });

  test('--help lists every command and the exit codes', async () => {
    const r = await run(process.execPath, [BIN, '--help']);
    expect(r.code).toBe(0);
    for (const command of ['verify', 'members', 'member', 'pki', 'network']) expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(r.stdout).toMatch(/member add \|\s+promote \|\s+remove/);
    for (const code of [0, 1, 2, 3, 4, 5]) expect(r.stdout).toMatch(new RegExp(`^  ${code}  `, 'm'));
    expect(r.stdout).toMatch(/^Which cluster .*:\n {2}--stack <dir>, else --spec <file>, else the hook's ETCD_CLUSTER_EXPECTED, else \.\/cluster\.yaml/m);
  });

  test("a command's --help names --cluster, and --yes where it asks before changing anything", async () => {
    const members = await run(process.execPath, [BIN, 'members', '--help']);
    expect(members.stdout).toMatch(/^ {2}--cluster <name> +which cluster, when the stack holds several/m);
    expect(members.stdout).not.toMatch(/--yes/);
    const rollout = await run(process.execPath, [BIN, 'rollout', '--help']);
    expect(rollout.stdout).toMatch(/^ {2}--yes +do not ask before changing anything \(for scripts\)/m);
  });

  test('the code cache keeps one file per command that ran, and a typed word that is no command gets none', async () => {
    const cacheDir = join(REPO_ROOT, 'node_modules', '.cache', 'cdktf-etcd-cluster');
    const cacheOf = (command: string) => join(cacheDir, `${command}-${process.version}-${process.arch}.v8`);
    rmSync(cacheOf('help'), { force: true });
    expect((await run(process.execPath, [BIN, 'help'])).code).toBe(0);
    expect(existsSync(cacheOf('help'))).toBe(true);
    const typo = `nosuchcommand${process.pid}`;
    expect((await run(process.execPath, [BIN, typo])).code).toBe(2);
    const files = existsSync(cacheDir) ? readdirSync(cacheDir) : [];
    expect(files.filter((f) => f.startsWith(`${typo}-`))).toEqual([]);
  });

  test('./cluster.yaml, and it says so', async () => {
    const cwd = scratchDir('cli-spec');
    writeFileSync(join(cwd, 'cluster.yaml'), 'name: here\nprimaries: 1\nports: { primaryBase: 1 }\n');
    const r = await run(process.execPath, [BIN, 'members', '--json'], { cwd, env: { ETCD_CLUSTER_EXPECTED: '' } });
    expect(r.stderr).toBe('etcd-cluster: using the spec cluster.yaml as edited (no stack cdktf.out/stacks/here yet; choose another with --spec or --stack)\n');
    expect(JSON.parse(r.stdout).cluster).toBe('here');
    expect(r.code).toBe(3);
  });

  test('else the one stack under cdktf.out/stacks, and it says so; two of them are refused', async () => {
    const cwd = scratchDir('cli-stacks');
    const put = (name: string) => {
      mkdirSync(join(cwd, 'cdktf.out', 'stacks', name), { recursive: true });
      const input = { ...goodExpectation, target: { ...goodTarget, cluster: name } };
      writeFileSync(join(cwd, 'cdktf.out', 'stacks', name, 'cdk.tf.json'), JSON.stringify({ resource: { terraform_data: { h: { input } } } }));
    };
    put('one');
    const r = await run(process.execPath, [BIN, 'members', '--json'], { cwd, env: { ETCD_CLUSTER_EXPECTED: '' } });
    expect(r.stderr).toBe('etcd-cluster: using the stack cdktf.out/stacks/one (choose another with --stack or --spec)\n');
    expect(JSON.parse(r.stdout).cluster).toBe('one');
    put('two');
    const both = await run(process.execPath, [BIN, 'members'], { cwd, env: { ETCD_CLUSTER_EXPECTED: '' } });
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(
      'etcd-cluster: no spec file here and 2 stacks under cdktf.out/stacks (cdktf.out/stacks/one, cdktf.out/stacks/two); choose one with --stack\n',
    );
  });
});
