/** `etcd-cluster pki renew`: new certificates and keys for every member, the verifier and the proxies, from the same CA. */
import { defineCommand } from '../command';
import { pkiOptions, validityDays } from '../options';
import { pkiOfSpec } from '../pki-spec';

export default defineCommand<{ spec?: string; out?: string; days: number }>({
  path: ['pki', 'renew'],
  description:
    "reissue every member certificate, the client and the proxies' certificates from the existing CA (new keys; the CA is kept); then cdktf synth and etcd-cluster rollout",
  source: false,
  options: (cmd) => pkiOptions(cmd).option('--days <n>', 'validity of the new certificates in days', validityDays, 825),
  async run(ctx) {
    const { opts, io } = ctx;
    const { renewPki } = await import('../../runtime/pki');
    const { dir, topology } = await pkiOfSpec(opts.spec, opts.out, io.cwd ?? process.cwd());
    const renewed = await renewPki(dir, topology.tls!.nodes, opts.days);
    const next = 'next: cdktf synth, then etcd-cluster rollout (the primaries one at a time, followers first; the secondaries after)';
    ctx.printer.result(`${dir}: renewed ${renewed.join(', ')} (valid ${opts.days} days, new keys); the CA is kept\n${next}`, {
      dir,
      renewed,
      days: opts.days,
      next,
    });
  },
});
