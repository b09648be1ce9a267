/** `etcd-cluster pki`: the CA and certificates a TLS cluster needs; keeps what exists. */
import { InvalidArgumentError } from 'commander';
import { defineCommand } from '../command';

/** `--days` of the pki commands: 1 to 3650. */
export function validityDays(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError(`expected 1 to 3650 days, got "${v}"`);
  return n;
}

/** The options every pki command takes: the spec, and another directory than its tls.dir. */
export const pkiOptions = (cmd: import('commander').Command) =>
  cmd.option('--spec <file>', 'the cluster spec (its tls.dir is the PKI directory unless --out says otherwise)').option('--out <dir>', 'the PKI directory');

export default defineCommand<{ spec?: string; out?: string; days: number }>({
  path: ['pki'],
  description: 'make the CA and certificates a TLS cluster needs; keeps what exists, adds what is missing',
  source: false,
  json: false,
  options: (cmd) => pkiOptions(cmd).option('--days <n>', 'validity of new certificates in days (a new CA: twice as long)', validityDays, 825),
  async run(ctx) {
    const { opts, io } = ctx;
    const { ensurePki, pkiOfSpec } = await import('../pki-make');
    const { dir, topology } = await pkiOfSpec(opts.spec, opts.out, io.cwd ?? process.cwd());
    const r = await ensurePki(dir, topology.tls!.nodes, opts.days);
    io.out(`${dir}: created ${r.created.length ? r.created.join(', ') : 'nothing'}; kept ${r.kept.length} existing\n`);
    io.out('private keys (*.key, ca.key) stay in this directory: keep it out of version control\n');
  },
});
