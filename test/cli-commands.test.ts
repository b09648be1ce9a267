/**
 * Every command of `etcd-cluster`, as registered in lib/cli/commands/index.ts (a new command is covered the
 * day it is added), run through the real CLI process on bad input: an unknown flag, nothing to work on, a
 * spec with a wrong section, a spec without a section the command needs (`needs`); and on a cluster that
 * nothing serves. Each ends with one line on stderr, no stack trace, and the exit code of its cause
 * (lib/cli/exit-codes.ts): the same cause, the same code, whatever the command.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { register, type CommandSpec, type Section } from '../lib/cli/command';
import { COMMANDS } from '../lib/cli/commands';
import { causeOf, InputError } from '../lib/cli/errors';
import { EXIT } from '../lib/cli/exit-codes';
import { ContractError } from '../lib/contract';
import { buildTopology, expectationOf, parseSpecText, SpecError } from '../lib/model';
import {
  ClusterUnreachable,
  DockerHostError,
  InvalidRequest,
  MembershipError,
  NotConfirmed,
  RecoveryRefused,
  TargetExists,
  TerraformFailed,
} from '../lib/runtime/errors';
import * as etcd from 'etcd3/lib/errors';
import { REPO_ROOT, run, scratchDir } from './helpers/synth';

jest.setTimeout(120_000);
const BIN = join(REPO_ROOT, 'bin', 'etcd-cluster.js');

/** What commander makes of a command: its words, its options' long names, its positional arguments. */
function shapeOf(spec: CommandSpec<unknown>) {
  const program = new Command('etcd-cluster');
  register(program, spec, { out: () => undefined, err: () => undefined, env: {}, tty: false }, () => undefined);
  let cmd = program;
  for (const word of spec.path) cmd = cmd.commands.find((c) => c.name() === word)!;
  const options = cmd.options.map((o) => o.long!);
  /** Its required options (pki's --spec), given something, so that what is checked is what the case is about. */
  const mandatory = cmd.options.filter((o) => o.mandatory).flatMap((o) => [o.long!, 'no-such-file']);
  return {
    words: [...spec.path],
    options,
    /** A value for each required positional argument: a file that is not there. */
    args: cmd.registeredArguments.filter((a) => a.required).map((a) => `no-such-${a.name()}`),
    mandatory,
    needs: spec.needs ?? [],
    /** Options that keep a run short or non-interactive where the command has them. */
    quick: [...(options.includes('--timeout') ? ['--timeout', '1'] : []), ...(options.includes('--yes') ? ['--yes'] : [])],
  };
}

const SHAPES = COMMANDS.map((c) => shapeOf(c as CommandSpec<unknown>));
const name = (words: string[]) => words.join(' ');

/** A spec for a cluster nothing serves (ports 1..; nothing listens on loopback there), with these sections. */
function specText(cluster: string, sections: readonly Section[] = []): string {
  const extra: Record<Section, string> = {
    backup: 'backup: { every: 1h, keep: 2 }',
    metrics: 'metrics: {}',
    tls: 'tls: { dir: pki }',
    auth: 'auth: {}',
  };
  return [`name: ${cluster}`, 'primaries: 1', 'ports: { primaryBase: 1, secondaryBase: 11 }', ...sections.map((s) => extra[s])].join('\n') + '\n';
}

/**
 * The environment of a user's shell with none of the hooks' variables, a Docker host that does not answer,
 * and a Terraform that fails at once (no command here gets as far as a plan).
 */
const ENV = {
  ETCD_CLUSTER_EXPECTED: '',
  ETCD_CLUSTER_MEMBER: '',
  ETCD_CLUSTER_CONFIG: '',
  DOCKER_HOST: 'tcp://127.0.0.1:1',
  ETCD_ROOT_PASSWORD: 'x',
  TERRAFORM_BINARY_NAME: 'false',
};

async function cli(args: string[], files: Record<string, string> = {}) {
  const cwd = scratchDir('every-command');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(cwd, file)), { recursive: true });
    writeFileSync(join(cwd, file), text);
  }
  const r = await run(process.execPath, [BIN, ...args], { cwd, env: ENV, timeoutMs: 60_000 });
  return { ...r, lines: r.stderr.split('\n').filter(Boolean) };
}

/** Bad input: exit code 2, one line on stderr that says which, nothing on stdout, no stack trace. */
function expectBadInput(r: Awaited<ReturnType<typeof cli>>, line: RegExp) {
  expect({ code: r.code, lines: r.lines, stdout: r.stdout }).toEqual({ code: EXIT.USAGE, lines: [expect.stringMatching(line)], stdout: '' });
}

describe('every command, on bad input: one line, exit code 2', () => {
  test('the list covers every registered command, and each has a description', () => {
    expect(SHAPES.length).toBe(COMMANDS.length);
    expect(SHAPES.map((s) => name(s.words))).toEqual(expect.arrayContaining(['verify', 'members', 'rollout', 'recover', 'backups', 'scrape-config', 'pki']));
  });

  test.concurrent.each(SHAPES.map((s) => [name(s.words), s] as const))('%s: an unknown flag', async (_n, s) => {
    expectBadInput(await cli([...s.words, ...s.args, ...s.mandatory, '--no-such-flag']), /^etcd-cluster: unknown option '--no-such-flag'$/);
  });

  test.concurrent.each(SHAPES.map((s) => [name(s.words), s] as const))(
    '%s: nothing to work on (no spec, no stack, no hook environment, no file)',
    async (_n, s) => {
      expectBadInput(await cli([...s.words, ...s.args, ...s.quick]), /^etcd-cluster: \S.*$/);
    },
  );

  const withSpec = SHAPES.filter((s) => s.options.includes('--spec'));
  test.concurrent.each(withSpec.map((s) => [name(s.words), s] as const))('%s: a spec with a wrong section', async (_n, s) => {
    const spec = specText('wrong', s.needs) + 'etcd: { quotaBackendBytes: lots }\n';
    expectBadInput(
      await cli([...s.words, ...s.args, ...s.quick, '--spec', 'cluster.yaml'], { 'cluster.yaml': spec }),
      /^etcd-cluster: cluster\.yaml: etcd\.quotaBackendBytes: /,
    );
  });

  test.concurrent.each(withSpec.map((s) => [name(s.words), s] as const))('%s: a spec with a section no release knows', async (_n, s) => {
    const spec = specText('typo', s.needs) + 'bakcup: { every: 1h }\n';
    expectBadInput(
      await cli([...s.words, ...s.args, ...s.quick, '--spec', 'cluster.yaml'], { 'cluster.yaml': spec }),
      /^etcd-cluster: cluster\.yaml: .*bakcup/,
    );
  });

  const needing = SHAPES.flatMap((s) => s.needs.map((section) => [name(s.words), section, s] as const));
  test('the commands that need a section say so (backups needs backup, scrape-config metrics)', () => {
    expect(needing.map(([n, section]) => `${n}: ${section}`)).toEqual(expect.arrayContaining(['backups: backup', 'scrape-config: metrics']));
  });

  test.concurrent.each(needing)('%s: a spec without its %s section', async (n, section, s) => {
    const r = await cli([...s.words, ...s.args, ...s.quick, '--spec', 'cluster.yaml'], {
      'cluster.yaml': specText(
        'bare',
        s.needs.filter((x) => x !== section),
      ),
    });
    expectBadInput(r, new RegExp(`^etcd-cluster: ${n}: cluster bare has no ${section} section in its spec; add one \\(e\\.g\\. .*\\) and deploy it$`));
  });
});

describe('every command that works on a cluster, given no flags, says which cluster it chose', () => {
  const working = SHAPES.filter((s) => s.options.includes('--stack'));
  test.concurrent.each(working.map((s) => [name(s.words), s] as const))('%s', async (_n, s) => {
    // ./cluster.yaml and the stack synthesized from it, as after `cdktf deploy`.
    const spec = specText('chosen', s.needs);
    const input = expectationOf(buildTopology(parseSpecText(spec, 'cluster.yaml')));
    const stack = JSON.stringify({ resource: { terraform_data: { hook: { input } } } });
    const r = await cli([...s.words, ...s.args, ...s.quick], { 'cluster.yaml': spec, 'cdktf.out/stacks/chosen/cdk.tf.json': stack });
    expect(r.lines[0]).toMatch(/^etcd-cluster: using the stack cdktf\.out\/stacks\/chosen of the spec cluster\.yaml \(choose another with --stack/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('every command that works on a cluster, on one that nothing serves: the code of the cause', () => {
  // What each command meets first when neither the cluster's ports nor its Docker host answer. A command
  // not listed reaches the cluster (3) or its Docker host (4) first.
  const FIRST: Record<string, { code: number; line?: RegExp }> = {
    // It prints a configuration from the spec, and asks nobody.
    'scrape-config': { code: EXIT.OK },
    // The verify hook's destroy-time check: with no configuration being applied (and no primary answering)
    // there is nothing to compare, and a destroy of a cluster that is down must not be blocked by it.
    'upgrade-check': { code: EXIT.OK },
    // They run Terraform in the stack synthesized from the spec, and there is none.
    rollout: { code: EXIT.USAGE, line: /^etcd-cluster: no stack cdktf\.out\/stacks\/dead for the spec cluster\.yaml/ },
    recover: { code: EXIT.USAGE, line: /^etcd-cluster: no stack cdktf\.out\/stacks\/dead for the spec cluster\.yaml/ },
    // Outside the network step, they act on the networks of the stack synthesized from the spec.
    'network create': { code: EXIT.USAGE, line: /^etcd-cluster: no stack cdktf\.out\/stacks\/dead for the spec cluster\.yaml/ },
    'network remove': { code: EXIT.USAGE, line: /^etcd-cluster: no stack cdktf\.out\/stacks\/dead for the spec cluster\.yaml/ },
    // The backup container's list is asked of its Docker host.
    backups: { code: EXIT.EXTERNAL, line: /^etcd-cluster: .*127\.0\.0\.1:1/ },
    // A point comes from the backup store, and this spec's backup has none.
    'backups fetch': { code: EXIT.USAGE, line: /^etcd-cluster: cluster dead has no backup store \(add backup\.store to its spec\)$/ },
  };
  const working = SHAPES.filter((s) => s.options.includes('--stack'));

  test.concurrent.each(working.map((s) => [name(s.words), s] as const))('%s', async (n, s) => {
    const r = await cli([...s.words, ...s.args, ...s.quick, '--spec', 'cluster.yaml'], { 'cluster.yaml': specText('dead', s.needs) });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const first = FIRST[n];
    if (first) {
      expect(r.code).toBe(first.code);
      if (first.line) expect(r.lines).toEqual([expect.stringMatching(first.line)]);
    } else {
      expect([EXIT.UNAVAILABLE, EXIT.EXTERNAL]).toContain(r.code);
      // A report on stdout (verify, members, status), or one line on stderr that says what did not answer.
      if (!r.stdout) expect(r.lines.slice(-1)).toEqual([expect.stringMatching(/^etcd-cluster: .*(answer|reach|127\.0\.0\.1:1)/)]);
    }
  });
});

describe('one map from a failure to its exit code (lib/cli/errors.ts)', () => {
  test.each<[string, () => Error, number]>([
    ['bad input found by the CLI', () => new InputError('x'), EXIT.USAGE],
    ['a bad spec', () => new SpecError('x'), EXIT.USAGE],
    ['a malformed hook message or stack', () => new ContractError('x'), EXIT.USAGE],
    ['a flag naming nothing there, found by the runtime', () => new InvalidRequest('x'), EXIT.USAGE],
    ['a change not confirmed', () => new NotConfirmed('x'), EXIT.USAGE],
    ['a file that exists already', () => new TargetExists('x'), EXIT.USAGE],
    ['a membership change refused in the cluster state', () => new MembershipError('x'), EXIT.MISMATCH],
    ['a recovery refused in the cluster state', () => new RecoveryRefused('x'), EXIT.MISMATCH],
    ['no member answers', () => new ClusterUnreachable('x'), EXIT.UNAVAILABLE],
    ['a Docker host failed', () => new DockerHostError('x'), EXIT.EXTERNAL],
    ['Terraform failed', () => new TerraformFailed('x'), EXIT.EXTERNAL],
    ["etcd's client gave up on the connection", () => new etcd.GRPCUnavailableError('x'), EXIT.UNAVAILABLE],
    ["etcd's client timed out", () => new etcd.GRPCDeadlineExceededError('x'), EXIT.UNAVAILABLE],
    ['etcd refused the login', () => new etcd.EtcdAuthenticationFailedError('x'), EXIT.USAGE],
    ['etcd answered with an error', () => new etcd.EtcdLeaseInvalidError('x'), EXIT.MISMATCH],
    ['anything else: a fault of etcd-cluster', () => new TypeError('x'), EXIT.INTERNAL],
  ])('%s', async (_what, error, code) => {
    expect((await causeOf(error())).code).toBe(code);
  });
});
