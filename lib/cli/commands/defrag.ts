/** `etcd-cluster defrag`: give the space compaction freed back to the file system, one member at a time. */
import { DEFAULTS } from '../../model/defaults';
import type { DefragStep } from '../../runtime/maintenance';
import { defineCommand } from '../command';
import type { Column } from '../printers';

const COLUMNS: Column<DefragStep>[] = [
  { header: 'MEMBER', cell: (s) => s.member },
  { header: 'ROLE', cell: (s) => s.role },
  { header: 'BEFORE', cell: (s) => `${s.beforeBytes}` },
  { header: 'AFTER', cell: (s) => `${s.afterBytes}` },
];

export default defineCommand({
  path: ['defrag'],
  description: 'defragment every primary, one at a time: followers first, the leader last, the cluster healthy between',
  timeout: { seconds: DEFAULTS.verifyTimeoutSeconds, description: 'how long each member may take to answer again' },
  async run(ctx) {
    const e = await ctx.cluster();
    const { defragment } = await import('../../runtime/maintenance');
    const steps = await defragment(e, { password: ctx.password(e.target), timeoutMs: ctx.opts.timeout! * 1000, onStep: ctx.progress });
    ctx.printer.records(COLUMNS, steps);
  },
});
