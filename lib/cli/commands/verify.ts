/** `etcd-cluster verify`: wait until the live cluster matches its spec (the post-apply hook runs this). */
import { DEFAULTS } from '../../model/defaults';
import { defineCommand } from '../command';
import { InputError } from '../errors';
import { exitOfReport } from '../exit-codes';
import { warnDaysOption } from '../options';
import { progressLine } from '../printers';

export default defineCommand<{ enableAuth?: boolean; warnDays?: number }>({
  path: ['verify'],
  description:
    'wait until the live cluster matches the spec; exit 0 if it does, 1 with a report if not (with TLS: an expired certificate fails, one expiring soon warns)',
  timeout: { seconds: DEFAULTS.verifyTimeoutSeconds, description: 'give up after this many seconds' },
  options: (cmd) => warnDaysOption(cmd.option('--enable-auth', 'with auth in the spec: create the root user and enable authentication first (the hook does)')),
  async run(ctx) {
    const { io, opts } = ctx;
    const e = await ctx.cluster();
    const password = ctx.password(e.target);
    const started = Date.now();
    const timeoutMs = opts.timeout! * 1000;
    const { enableAuth, verifyCluster } = await import('../../runtime/verify');
    if (opts.enableAuth) {
      if (!e.target.auth) throw new InputError('--enable-auth: the spec has no auth section');
      io.err(`authentication ${await enableAuth(e, { timeoutMs, password: password! })}\n`);
    }
    let lastProgress = 0;
    const report = await verifyCluster(e, {
      password,
      warnDays: opts.warnDays,
      timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
      onProgress: (r) => {
        // At most one line a second; a terminal gets it rewritten in place.
        if (r.elapsedMs - lastProgress < 1000) return;
        lastProgress = r.elapsedMs;
        io.err(io.tty ? `\r\x1b[K${progressLine(r)}` : `${progressLine(r)}\n`);
      },
    });
    if (io.tty && lastProgress) io.err('\r\x1b[K');
    ctx.printer.report(report, 'verdict');
    return exitOfReport(report);
  },
});
