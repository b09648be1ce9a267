/**
 * `etcd-cluster recover`: bring back a cluster that lost its quorum (lib/runtime/recover.ts). It works on a
 * stack directory, where it runs Terraform (the rule of `rollout`), and records the recovery in the spec
 * file: `--spec`, else the spec file of the current directory when it declares this cluster. Here, and only
 * here, `--stack` and `--spec` go together: the one says where Terraform runs, the other what to edit.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SurvivorRow } from '../../runtime/survivors';
import { defineCommand } from '../command';
import { InputError } from '../errors';
import { TablePrinter, type Column } from '../printers';
import { loadStack } from '../sources';

interface RecoverOptions {
  readonly from?: string;
  readonly acceptLoss?: boolean;
  readonly snapshot?: string;
  readonly synth?: string;
}

const n = (v?: number) => (v === undefined ? '-' : String(v));

/** The primaries side by side: what each still holds, and which one the cluster is rebuilt from. */
const columns = (chosen?: string): Column<SurvivorRow>[] => [
  { header: 'MEMBER', cell: (r) => r.name },
  { header: 'STATE', cell: (r) => r.state },
  { header: 'RAFT-INDEX', cell: (r) => n(r.raftIndex) },
  { header: 'TERM', cell: (r) => n(r.raftTerm) },
  { header: 'REVISION', cell: (r) => n(r.revision) },
  {
    header: 'NOTE',
    cell: (r) =>
      [
        r.name === chosen ? 'recover from here' : '',
        r.walCommit !== undefined && r.dbIndex !== undefined && r.walCommit !== r.dbIndex ? `wal commit ${r.walCommit}, db ${r.dbIndex}` : '',
        r.state === 'lost' || r.state === 'unreadable' ? (r.error ?? '') : '',
      ]
        .filter(Boolean)
        .join('; ') || '-',
  },
];

export default defineCommand<RecoverOptions>({
  path: ['recover'],
  description:
    'bring back a cluster that lost its quorum: from the survivor with the most data (a one-member cluster, the others rejoin), or from a snapshot when none is left',
  timeout: { seconds: 120, description: 'how long the survivor may take to come back as a one-member cluster' },
  confirms: true,
  options: (cmd) =>
    cmd
      .option('--from <member>', 'the primary to recover from (name or number) instead of the most advanced one')
      .option('--accept-loss', 'recover from --from even when another survivor may hold more')
      .option('--snapshot <file>', 'when no primary has data left: restore from this snapshot (default: the newest of the backup container)')
      .option(
        '--synth <command>',
        'how to synthesize the stack after the spec changed (default: npx --no-install cdktf synth, with a spec file and a cdktf.json here)',
      ),
  async run(ctx) {
    const { io, opts } = ctx;
    const cwd = io.cwd ?? process.cwd();
    const { SPEC_FILE_ENV, loadSpecFile, specPathFromEnv } = await import('../../model/load');
    // Where Terraform runs: --stack (with or without --spec), else the rule of rollout.
    const { dir, expectation: e } =
      opts.stack && opts.spec ? await loadStack({ stack: opts.stack, cluster: opts.cluster }, io.env, ctx.say, cwd) : await ctx.stack();
    let specFile = opts.spec ? resolve(cwd, opts.spec) : undefined;
    if (!specFile) {
      const candidate = resolve(cwd, specPathFromEnv(io.env));
      if (existsSync(candidate) && loadSpecFile(candidate).name === e.target.cluster) {
        specFile = candidate;
        ctx.say(`recording the recovery in ${specFile} (choose another with --spec)`);
      }
    }
    const synth = opts.synth ?? (specFile && existsSync(resolve(cwd, 'cdktf.json')) ? 'npx --no-install cdktf synth' : undefined);
    const { recover } = await import('../../runtime/recover');
    const r = await recover(e, {
      dir,
      specFile,
      from: opts.from,
      acceptLoss: opts.acceptLoss,
      snapshot: opts.snapshot && resolve(cwd, opts.snapshot),
      synth,
      timeoutMs: opts.timeout! * 1000,
      password: () => {
        if (!e.target.auth) return undefined;
        const password = io.env[e.target.auth.passwordEnv];
        if (!password) {
          throw new InputError(
            `auth: set ${e.target.auth.passwordEnv} to the root password of cluster ${e.target.cluster}: the recovery logs in as root once the survivor leads, and the apply that finishes it changes the membership; recover stopped before its next step`,
          );
        }
        return password;
      },
      env: specFile ? { ...io.env, [SPEC_FILE_ENV]: specFile } : io.env,
      say: ctx.progress,
      confirm: async (s, d, loss) => {
        new TablePrinter(io.err).records(columns(d.kind === 'survivor' ? d.from.name : undefined), s.rows);
        io.err(`${loss}\n`);
        return ctx.confirm(`recover ${e.target.cluster} ${d.kind === 'survivor' ? `from ${d.from.name}` : 'from the snapshot'}?`, {
          cluster: e.target.cluster,
          action: 'recover',
        });
      },
    });
    const how = r.mode === 'survivor' ? `from ${r.from}` : `from the snapshot ${r.snapshot}`;
    const spec = r.spec === 'props' ? 'the props printed above' : r.spec;
    ctx.printer.records(columns(r.from), r.survivors, {
      heading: `${r.cluster}: recovered ${how} in ${r.seconds}s; ${r.mode === 'survivor' ? 'rejoined' : 'restored'} ${r.rebuilt.join(', ')}; the spec change is in ${spec}\n`,
      value: r,
    });
  },
});
