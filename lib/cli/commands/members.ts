/** `etcd-cluster members`: every declared and live member, one look, without waiting. */
import { defineCommand } from '../command';
import { EXIT } from '../exit-codes';

export default defineCommand({
  path: ['members'],
  description: 'show every declared and live member, once, without waiting',
  async run(ctx) {
    const e = await ctx.cluster();
    const started = Date.now();
    const { inspectCluster } = await import('../../runtime/verify');
    const look = await inspectCluster(e, { password: ctx.password(e.target) });
    const report = { ...look, attempts: 1, elapsedMs: Date.now() - started };
    ctx.printer.report(report, 'members');
    return report.ok ? EXIT.OK : report.reachable ? EXIT.MISMATCH : EXIT.UNAVAILABLE;
  },
});
