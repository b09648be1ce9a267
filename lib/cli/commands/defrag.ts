/**
 * `etcd-cluster defrag [--if-needed]`: give the space compaction freed back to the file system, one member at
 * a time; with `--if-needed` only the members etcd's rule picks (what the backup container does on its
 * schedule; a scheduler of yours can run this instead, e.g. with auth).
 */
import { DEFAULTS } from '../../model/defaults';
import { defineCommand } from '../command';
import { EXIT } from '../exit-codes';
import { STEP_COLUMNS } from '../columns';

export default defineCommand<{ ifNeeded?: boolean }>({
  path: ['defrag'],
  description:
    "defragment every primary (or with --if-needed those etcd's rule picks), one at a time: followers first, the leader last, the cluster healthy between",
  timeout: { seconds: DEFAULTS.verifyTimeoutSeconds, description: 'how long each member may take to answer again' },
  options: (cmd) =>
    cmd.option('--if-needed', "only members over the spec's defrag.quotaPercent of the quota, or with defrag.reclaimableMiB to reclaim (etcd's rule)"),
  async run(ctx) {
    const e = await ctx.cluster();
    const { defragment } = await import('../../runtime/maintenance');
    const { steps, full } = await defragment(e, {
      password: ctx.password(e.target),
      timeoutMs: ctx.opts.timeout! * 1000,
      onStep: ctx.progress,
      ifNeeded: ctx.opts.ifNeeded,
    });
    for (const f of full) ctx.say(`${f}: the data itself is over ${e.space!.quotaPercent}% of the quota; delete keys or raise etcd.quotaBackendBytes`);
    ctx.printer.records(STEP_COLUMNS, steps, { empty: `${e.target.cluster}: nothing to defragment (etcd's rule picks no member)\n` });
    return full.length ? EXIT.MISMATCH : EXIT.OK;
  },
});
