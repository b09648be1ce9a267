/** `etcd-cluster reclaim`: etcd's way out of NOSPACE, compact, defragment every member, disarm. */
import { DEFAULTS } from '../../model/defaults';
import { defineCommand } from '../command';
import { EXIT } from '../exit-codes';
import { STEP_COLUMNS } from '../columns';

export default defineCommand({
  path: ['reclaim'],
  description:
    "etcd's way out of NOSPACE: compact up to the current revision, defragment every primary (followers first, the leader last), and disarm NOSPACE once every database is back under defrag.quotaPercent of the quota",
  timeout: { seconds: DEFAULTS.verifyTimeoutSeconds, description: 'how long each member may take to answer again' },
  async run(ctx) {
    const e = await ctx.cluster();
    const { reclaim } = await import('../../runtime/maintenance');
    const r = await reclaim(e, { password: ctx.password(e.target), timeoutMs: ctx.opts.timeout! * 1000, onStep: ctx.progress });
    ctx.printer.records(STEP_COLUMNS, r.steps, { heading: `${r.cluster}: ${r.message}\n`, value: r });
    return r.result === 'done' ? EXIT.OK : EXIT.MISMATCH;
  },
});
