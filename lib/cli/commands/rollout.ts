/** `etcd-cluster rollout`: apply a stack whose primaries change, one member at a time. */
import type { RolloutStep } from '../../runtime/rollout';
import { defineCommand } from '../command';
import type { Column } from '../printers';

const COLUMNS: Column<RolloutStep>[] = [
  { header: 'MEMBER', cell: (s) => s.member },
  { header: 'ROLE', cell: (s) => s.role },
  { header: 'CHANGE', cell: (s) => s.action },
  { header: 'SECONDS', cell: (s) => String(s.seconds) },
];

export default defineCommand<{ skipV2storeCheck?: boolean }>({
  path: ['rollout'],
  description:
    'apply a synthesized stack whose primaries change one member at a time: followers first, the leader last, each back and caught up before the next',
  timeout: { seconds: 120, description: 'how long each member may take to come back and catch up' },
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
    });
    const n = r.steps.length;
    const heading = `${r.cluster}: rolled ${n} primar${n === 1 ? 'y' : 'ies'}${r.from && r.to && r.from !== r.to ? ` from etcd ${r.from} to ${r.to}` : ''}\n`;
    ctx.printer.records(COLUMNS, r.steps, { heading, empty: heading, value: r });
  },
});
