/** `etcd-cluster members`: every declared and live member, and with TLS every certificate, one look, without waiting. */
import { defineCommand } from '../command';
import { exitOfReport } from '../exit-codes';
import { warnDaysOption } from '../options';

export default defineCommand<{ warnDays?: number }>({
  path: ['members'],
  description: 'show every declared and live member (with TLS, every certificate and when it expires), once, without waiting',
  options: warnDaysOption,
  async run(ctx) {
    const e = await ctx.cluster();
    const started = Date.now();
    const { inspectCluster } = await import('../../runtime/verify');
    const look = await inspectCluster(e, { password: ctx.password(e.target), warnDays: ctx.opts.warnDays });
    const report = { ...look, attempts: 1, elapsedMs: Date.now() - started };
    ctx.printer.report(report, 'members');
    return exitOfReport(report);
  },
});
