/** `etcd-cluster compact`: compact the key-value history now, as auto-compaction does on its schedule. */
import { defineCommand } from '../command';

export default defineCommand({
  path: ['compact'],
  description: 'compact the key-value history up to the current revision (what auto-compaction does on its schedule)',
  async run(ctx) {
    const e = await ctx.cluster();
    const { compact } = await import('../../runtime/maintenance');
    const revision = await compact(e, { password: ctx.password(e.target) });
    ctx.printer.result(`${e.target.cluster}: compacted up to revision ${revision}`, { cluster: e.target.cluster, compactedTo: revision });
  },
});
