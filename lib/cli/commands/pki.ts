/** `etcd-cluster pki`: the CA and certificates a TLS cluster needs; keeps what exists. */
import { defineCommand } from '../command';
import { pkiOptions, validityDays } from '../options';
import { pkiOfSpec } from '../pki-spec';

export default defineCommand<{ spec?: string; out?: string; days: number }>({
  path: ['pki'],
  description: 'make the CA and certificates a TLS cluster needs; keeps what exists, adds what is missing',
  source: false,
  json: false,
  options: (cmd) => pkiOptions(cmd).option('--days <n>', 'validity of new certificates in days (a new CA: twice as long)', validityDays, 825),
  async run(ctx) {
    const { opts, io } = ctx;
    const { ensurePki } = await import('../../runtime/pki');
    const { dir, topology } = await pkiOfSpec(opts.spec, opts.out, io.cwd ?? process.cwd());
    const r = await ensurePki(dir, topology.tls!.nodes, opts.days);
    io.out(`${dir}: created ${r.created.length ? r.created.join(', ') : 'nothing'}; kept ${r.kept.length} existing\n`);
    io.out('private keys (*.key, ca.key) stay in this directory: keep it out of version control\n');
  },
});
