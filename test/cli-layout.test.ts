/**
 * The CLI's layout: one rule for which cluster or stack a command works on (lib/cli/sources.ts), and a new
 * command as one definition (lib/cli/command.ts) that gets the shared options, that rule and both printers.
 * In-process, with scratch directories as the working directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../lib/cli';
import { defineCommand } from '../lib/cli/command';
import { loadExpectation, loadStack } from '../lib/cli/sources';
import { expectationOf, buildTopology, validateSpec } from '../lib/model';
import { scratchDir } from './helpers/synth';

/** A stack directory under cdktf.out/stacks/<name> holding the hook of a cluster of that name. */
function putStack(cwd: string, name: string, clusters = [name]): string {
  const dir = join(cwd, 'cdktf.out', 'stacks', name);
  mkdirSync(dir, { recursive: true });
  const hooks = Object.fromEntries(clusters.map((c, k) => [`h${k}`, { input: expectationOf(buildTopology(validateSpec({ name: c, primaries: 1 }))) }]));
  writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { terraform_data: hooks } }));
  return dir;
}

function lines() {
  const said: string[] = [];
  return { said, say: (l: string) => said.push(l) };
}

describe('one rule for which cluster a command works on', () => {
  test('--stack, else --spec, else the hook environment, else ./cluster.yaml, else the one stack', async () => {
    const cwd = scratchDir('rule');
    putStack(cwd, 'only');
    const hook = JSON.stringify(expectationOf(buildTopology(validateSpec({ name: 'hooked', primaries: 1 }))));
    writeFileSync(join(cwd, 'other.yaml'), 'name: fromspec\nprimaries: 1\n');
    const name = async (src: object, env: NodeJS.ProcessEnv = {}) => {
      const l = lines();
      return [(await loadExpectation(src, env, l.say, cwd)).target.cluster, ...l.said];
    };
    expect(await name({}, {})).toEqual(['only', 'using the stack cdktf.out/stacks/only (choose another with --stack or --spec)']);
    writeFileSync(join(cwd, 'cluster.yaml'), 'name: here\nprimaries: 1\n');
    expect(await name({}, {})).toEqual([
      'here',
      'using the spec cluster.yaml as edited (no stack cdktf.out/stacks/here yet; choose another with --spec or --stack)',
    ]);
    expect(await name({}, { ETCD_CLUSTER_CONFIG: 'other.yaml' })).toEqual([
      'fromspec',
      'using the spec other.yaml as edited (no stack cdktf.out/stacks/fromspec yet; choose another with --spec or --stack)',
    ]);
    expect(await name({}, { ETCD_CLUSTER_EXPECTED: hook })).toEqual(['hooked']);
    expect(await name({ spec: join(cwd, 'other.yaml') }, { ETCD_CLUSTER_EXPECTED: hook })).toEqual(['fromspec']);
    expect(await name({ stack: join(cwd, 'cdktf.out', 'stacks', 'only') }, { ETCD_CLUSTER_EXPECTED: hook })).toEqual(['only']);
  });

  test('./cluster.yaml as its synthesized stack declares it (what was deployed last), and an edit since is said', async () => {
    const cwd = scratchDir('rule-deployed');
    const primaries = async () => {
      const l = lines();
      const e = await loadExpectation({}, {}, l.say, cwd);
      return [e.target.cluster, e.target.primaries.length, ...l.said];
    };
    writeFileSync(join(cwd, 'cluster.yaml'), 'name: here\nprimaries: 1\n');
    putStack(cwd, 'here');
    expect(await primaries()).toEqual(['here', 1, 'using the stack cdktf.out/stacks/here of the spec cluster.yaml (choose another with --stack or --spec)']);
    // Edited, not deployed yet: the live cluster is still compared with the stack, and the edit is said.
    writeFileSync(join(cwd, 'cluster.yaml'), 'name: here\nprimaries: 3\n');
    expect(await primaries()).toEqual([
      'here',
      1,
      'using the stack cdktf.out/stacks/here, as cdktf last synthesized it; cluster.yaml was edited since (deploy it, or compare with it as edited: --spec cluster.yaml)',
    ]);
    // As edited, on request.
    expect((await loadExpectation({ spec: 'cluster.yaml' }, {}, undefined, cwd)).target.primaries).toHaveLength(3);
    // A stack of that name without the cluster's hook (verify.enabled false): the spec, and why.
    writeFileSync(join(cwd, 'cdktf.out', 'stacks', 'here', 'cdk.tf.json'), JSON.stringify({ resource: {} }));
    expect(await primaries()).toEqual([
      'here',
      3,
      expect.stringMatching(
        /^using the spec cluster.yaml as edited \(the stack cdktf.out\/stacks\/here: .*holds no etcd cluster verification hook .*; choose another with --spec or --stack\)$/,
      ),
    ]);
  });

  test('--cluster picks among several clusters of a stack; without it several are refused', async () => {
    const cwd = scratchDir('rule-many');
    const dir = putStack(cwd, 'app', ['orders', 'sessions']);
    expect((await loadExpectation({ stack: dir, cluster: 'sessions' }, {}, undefined, cwd)).target.cluster).toBe('sessions');
    await expect(loadExpectation({ stack: dir }, {}, undefined, cwd)).rejects.toThrow(
      '--stack: 2 clusters found (orders, sessions); choose one with --cluster',
    );
  });

  test('a command that needs a stack directory: --stack, else the stack of the chosen spec, else the only stack', async () => {
    const cwd = scratchDir('rule-stack');
    putStack(cwd, 'first');
    const at = async (src: object, env: NodeJS.ProcessEnv = {}) => {
      const l = lines();
      const r = await loadStack(src, env, l.say, cwd);
      return [r.dir.slice(cwd.length + 1), r.expectation.target.cluster, ...l.said];
    };
    expect(await at({})).toEqual(['cdktf.out/stacks/first', 'first', 'using the stack cdktf.out/stacks/first (choose another with --stack)']);
    putStack(cwd, 'second');
    await expect(at({})).rejects.toThrow(/^no spec file here and 2 stacks under cdktf.out\/stacks .*; choose one with --stack$/);
    writeFileSync(join(cwd, 'cluster.yaml'), 'name: second\nprimaries: 1\n');
    expect(await at({})).toEqual([
      'cdktf.out/stacks/second',
      'second',
      'using the stack cdktf.out/stacks/second of the spec cluster.yaml (choose another with --stack)',
    ]);
    writeFileSync(join(cwd, 'third.yaml'), 'name: third\nprimaries: 1\n');
    await expect(at({ spec: 'third.yaml' })).rejects.toThrow(
      'no stack cdktf.out/stacks/third for the spec third.yaml (run cdktf synth first, or pass --stack <dir>)',
    );
    expect((await at({ stack: 'cdktf.out/stacks/first' })).slice(0, 2)).toEqual(['cdktf.out/stacks/first', 'first']);
  });
});

describe('a new command is one definition (and one line in lib/cli/commands/index.ts)', () => {
  // What a day-two command looks like: it names its words, takes the shared options, and prints records.
  const primaries = defineCommand({
    path: ['example', 'primaries'],
    groupDescription: 'an example group',
    description: 'list the declared primaries',
    timeout: { seconds: 5, description: 'unused here' },
    async run(ctx) {
      const e = await ctx.cluster();
      ctx.printer.records(
        [
          { header: 'NAME', cell: (p) => p.name },
          { header: 'ENDPOINT', cell: (p) => p.endpoint },
        ],
        e.target.primaries,
        { heading: `${e.target.cluster} (timeout ${ctx.opts.timeout}s)\n` },
      );
    },
  });

  async function run(argv: string[]) {
    const cwd = scratchDir('new-command');
    writeFileSync(join(cwd, 'cluster.yaml'), 'name: demo\nprimaries: 3\nports: { primaryBase: 30001 }\n');
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), env: {}, tty: false, cwd }, [primaries]);
    return { code, out, err };
  }

  test('it gets the one rule, the shared options and the table printer', async () => {
    expect(await run(['example', 'primaries', '--timeout', '7'])).toEqual({
      code: 0,
      out: 'demo (timeout 7s)\nNAME             ENDPOINT\ndemo-primary-1   http://127.0.0.1:30001\ndemo-primary-2   http://127.0.0.1:30002\ndemo-primary-3   http://127.0.0.1:30003\n',
      err: 'etcd-cluster: using the spec cluster.yaml as edited (no stack cdktf.out/stacks/demo yet; choose another with --spec or --stack)\n',
    });
  });

  test('and --json, and one-line bad input', async () => {
    const r = await run(['example', 'primaries', '--json']);
    expect(JSON.parse(r.out).map((p: { name: string }) => p.name)).toEqual(['demo-primary-1', 'demo-primary-2', 'demo-primary-3']);
    expect(await run(['example', 'primaries', '--timeout', 'x'])).toMatchObject({
      code: 2,
      err: `etcd-cluster: option '--timeout <seconds>' argument 'x' is invalid. expected seconds between 0 and 3600, got "x"\n`,
    });
  });
});
