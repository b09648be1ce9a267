/**
 * Space that stays free (issue 25, item 2) without Docker: etcd's defragmentation rule as a pure function
 * (thresholds and member order), held to the same cases as the backup container's Go defragmenter
 * (tools/etcd-backup/testdata/defrag-rule.json), whose own tests (`go test`) run here too; the journal as
 * `maintenance log` shows it; what the CLI says before it touches a cluster.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../lib/cli';
import { rowsOf } from '../lib/cli/commands/maintenance';
import { buildTopology, expectationOf, validateSpec } from '../lib/model';
import type { MaintenanceRun } from '../lib/runtime/maintenance';
import { decide, defragOrder, overThreshold, reasonText, type SpaceRule } from '../lib/runtime/space';
import { REPO_ROOT, scratchDir } from './helpers/synth';

const TOOL = join(REPO_ROOT, 'tools', 'etcd-backup');
const FIXTURE = JSON.parse(readFileSync(join(TOOL, 'testdata', 'defrag-rule.json'), 'utf8')) as {
  rules: (SpaceRule & { case: string; dbSize: number; inUse: number; reasons: string[]; full: boolean })[];
  order: { case: string; members: { name: string; leader: boolean }[]; expect: string[] }[];
};
const MiB = 1024 ** 2;

describe("etcd's rule: defragment over 80 % of the quota, or with 200 MiB to reclaim", () => {
  test.each(FIXTURE.rules.map((c) => [c.case, c] as const))('%s', (_name, c) => {
    expect(decide(c, c.dbSize, c.inUse)).toEqual({ reasons: c.reasons, full: c.full });
  });

  test('the fixture covers each reason, both together, neither, and a full database', () => {
    const seen = new Set(FIXTURE.rules.map((c) => `${c.reasons.join('+')}|${c.full}`));
    expect([...seen].sort()).toEqual(['quota+reclaimable|false', 'quota|false', 'reclaimable|false', 'reclaimable|true', '|false', '|true']);
  });

  test('the threshold is exact at every quota the spec allows (1 MiB to 8 GiB)', () => {
    for (const quotaBytes of [MiB, 16 * MiB, 2 * 1024 * MiB, 8 * 1024 * MiB]) {
      const rule = { quotaBytes, quotaPercent: 80, reclaimableBytes: 200 * MiB };
      const at = (quotaBytes * 80) / 100;
      expect([overThreshold(rule, Math.floor(at)), overThreshold(rule, Math.floor(at) + 1)]).toEqual([false, true]);
    }
  });

  test('a decision in words, as the journal and defrag --if-needed show it', () => {
    const rule = { quotaBytes: 16 * MiB, quotaPercent: 80, reclaimableBytes: MiB };
    expect(reasonText(rule, 15 * MiB, 3 * MiB, decide(rule, 15 * MiB, 3 * MiB))).toBe(
      'database 15.0 MiB is 93.7% of the quota 16.0 MiB (over 80%); 12.0 MiB reclaimable (at least 1.0 MiB)',
    );
  });
});

describe('one member at a time: followers first, the leader last', () => {
  test.each(FIXTURE.order.map((c) => [c.case, c] as const))('%s', (_name, c) => {
    const members = c.members.map((m) => ({ name: m.name, isLeader: m.leader }));
    expect(defragOrder(members).map((m) => m.name)).toEqual(c.expect);
    expect(members.map((m) => m.name)).toEqual(c.members.map((m) => m.name));
  });
});

describe("the backup container's defragmenter (Go)", () => {
  test('go test passes in tools/etcd-backup: the same rule and order, runs against a fake cluster, the journal', () => {
    const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
    const out = execFileSync(go, ['test', '-count=1', '-v', './...'], {
      cwd: TOOL,
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    for (const name of ['TestRuleFixture', 'TestOrderFixture', 'TestNospaceIsReclaimedCompactDefragmentEveryMemberDisarm']) {
      expect(out).toContain(`--- PASS: ${name}`);
    }
    expect(out).not.toContain('--- FAIL');
  });
});

describe('maintenance log: one row per member defragmented, a row for what a run says', () => {
  const step = (member: string, role: 'follower' | 'leader') => ({
    member,
    role,
    reason: 'NOSPACE: every member',
    beforeBytes: 16 * MiB,
    afterBytes: MiB,
    seconds: 0.4,
  });
  const runs: MaintenanceRun[] = [
    { time: 't1', run: 'defrag', result: 'done', steps: [step('c-primary-2', 'follower'), step('c-primary-1', 'leader')] },
    { time: 't2', run: 'defrag', result: 'skipped', message: 'the voters do not agree on a leader', steps: [] },
    {
      time: 't3',
      run: 'reclaim',
      result: 'done',
      message: 'NOSPACE alarm on c-primary-1; compacted up to revision 9, defragmented every member, disarmed',
      steps: [step('c-primary-1', 'leader')],
    },
  ];

  test('rows', () => {
    expect(rowsOf(runs).map((r) => [r.run.time, r.step?.member ?? r.run.message])).toEqual([
      ['t1', 'c-primary-2'],
      ['t1', 'c-primary-1'],
      ['t2', 'the voters do not agree on a leader'],
      ['t3', 'NOSPACE alarm on c-primary-1; compacted up to revision 9, defragmented every member, disarmed'],
      ['t3', 'c-primary-1'],
    ]);
  });
});

describe('what the CLI says before it touches a cluster', () => {
  const cli = async (argv: string[], cwd: string) => {
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), env: {}, tty: false, cwd });
    return { code, out, err };
  };
  const stackWith = (edit: (e: Record<string, unknown>) => void) => {
    const cwd = scratchDir('space-cli');
    const dir = join(cwd, 'stack');
    mkdirSync(dir, { recursive: true });
    const input = expectationOf(buildTopology(validateSpec({ name: 'old', primaries: 1, ports: { primaryBase: 1 } }))) as unknown as Record<string, unknown>;
    edit(input);
    writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { terraform_data: { hook: { input } } } }));
    return { cwd, dir };
  };

  test('reclaim and defrag --if-needed on a stack of a release that did not record the rule: exit 2, one line', async () => {
    const { cwd, dir } = stackWith((e) => delete e.space);
    for (const argv of [
      ['reclaim', '--stack', dir],
      ['defrag', '--if-needed', '--stack', dir],
    ]) {
      expect(await cli(argv, cwd)).toEqual({
        code: 2,
        out: '',
        err: "etcd-cluster: cluster old: this stack was synthesized by a release that did not record etcd's defragmentation rule; run cdktf synth again\n",
      });
    }
  });

  test('maintenance log of a cluster without backup: exit 2 (a section it needs), one line', async () => {
    const { cwd, dir } = stackWith(() => undefined);
    expect(await cli(['maintenance', 'log', '--stack', dir], cwd)).toEqual({
      code: 2,
      out: '',
      err: 'etcd-cluster: maintenance log: cluster old has no backup section in its spec; add one (e.g. backup: { every: 1h, keep: 24 }) and deploy it\n',
    });
  });

  test('--help lists reclaim and maintenance', async () => {
    const { out } = await cli(['--help'], scratchDir('space-help'));
    expect(out).toMatch(/^\s+reclaim \[options\]\s+etcd's way out of NOSPACE/m);
    expect(out).toMatch(/^\s+maintenance\s+what the backup container's scheduled/m);
  });
});
