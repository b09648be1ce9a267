/** `etcd-cluster rollout`: apply a stack whose primaries change, one member at a time, after showing the plan and asking. */
import { relative } from 'node:path';
import type { RolloutPlan, RolloutStep } from '../../runtime/rollout';
import { defineCommand } from '../command';
import { TablePrinter, type Column } from '../printers';

const COLUMNS: Column<RolloutStep>[] = [
  { header: 'MEMBER', cell: (s) => s.member },
  { header: 'ROLE', cell: (s) => s.role },
  { header: 'CHANGE', cell: (s) => s.action },
  { header: 'SECONDS', cell: (s) => String(s.seconds) },
];

const PLAN: Column<RolloutPlan['changes'][number]>[] = [
  { header: 'ACTION', cell: (c) => c.action },
  { header: 'RESOURCE', cell: (c) => c.address },
];

/** The plan's summary on stderr: every resource it changes, the counts, then the order of the primaries. */
function showPlan(err: (text: string) => void, plan: RolloutPlan, cwd: string): void {
  err(`the plan of ${relative(cwd, plan.dir) || plan.dir} for ${plan.cluster}:\n`);
  new TablePrinter(err).records(PLAN, plan.changes);
  const count = (a: string) => plan.changes.filter((c) => c.action === a).length;
  const forgotten = count('forget') ? `, ${count('forget')} to forget` : '';
  err(`${count('replace')} to replace, ${count('update')} to update, ${count('create')} to create, ${count('destroy')} to destroy${forgotten}\n`);
  err(
    plan.order.length
      ? `primaries one at a time, each back and caught up before the next: ${plan.order.map((o) => `${o.member} (${o.role})`).join(', ')}; then one apply of the rest\n`
      : 'no primary changes: one apply does it all\n',
  );
}

export default defineCommand<{ skipV2storeCheck?: boolean }>({
  path: ['rollout'],
  description:
    'apply a synthesized stack whose primaries change one member at a time: followers first, the leader last, each back and caught up before the next; shows the plan and asks first',
  timeout: { seconds: 120, description: 'how long each member may take to come back and catch up' },
  confirms: true,
  options: (cmd) =>
    cmd.option(
      '--skip-v2store-check',
      "before etcd 3.5 -> 3.6, do not run etcdutl check v2store on the primaries' data (for images without etcdutl; check it yourself)",
    ),
  async run(ctx) {
    const { dir, expectation: e } = await ctx.stack();
    const { rollout } = await import('../../runtime/rollout');
    const r = await rollout(e, {
      dir,
      memberTimeoutMs: ctx.opts.timeout! * 1000,
      password: ctx.password(e.target),
      skipV2StoreCheck: !!ctx.opts.skipV2storeCheck,
      say: ctx.progress,
      confirm: async (plan) => {
        showPlan(ctx.io.err, plan, ctx.io.cwd ?? process.cwd());
        return ctx.confirm(`roll out ${plan.cluster}?`, { cluster: plan.cluster, action: 'roll out' });
      },
    });
    const n = r.steps.length;
    const heading = `${r.cluster}: rolled ${n} primar${n === 1 ? 'y' : 'ies'}${r.from && r.to && r.from !== r.to ? ` from etcd ${r.from} to ${r.to}` : ''}\n`;
    ctx.printer.records(COLUMNS, r.steps, { heading, empty: heading, value: r });
  },
});
