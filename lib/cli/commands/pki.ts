/** `etcd-cluster pki`: the CA and certificates a TLS cluster needs; keeps what exists. */
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { defineCommand } from '../command';
import { InputError } from '../errors';

function days(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError(`expected 1 to 3650 days, got "${v}"`);
  return n;
}

export default defineCommand<{ spec: string; out?: string; days: number }>({
  path: ['pki'],
  description: 'make the CA and certificates a TLS cluster needs; keeps what exists, adds what is missing',
  source: false,
  json: false,
  options: (cmd) =>
    cmd
      .requiredOption('--spec <file>', 'the cluster spec (its tls.dir is where files go unless --out says otherwise)')
      .option('--out <dir>', 'directory to write to')
      .option('--days <n>', 'validity of new certificates in days', days, 825),
  async run(ctx) {
    const { opts, io } = ctx;
    const { buildTopology, loadSpecFile } = await import('../../model');
    const spec = loadSpecFile(opts.spec);
    const dir = opts.out ? resolve(io.cwd ?? process.cwd(), opts.out) : spec.tls?.dir;
    if (!dir) throw new InputError(`${opts.spec}: has no tls.dir; add one, or pass --out <dir>`);
    const topology = buildTopology({ ...spec, tls: { dir } });
    const { ensurePki } = await import('../pki-make');
    const r = await ensurePki(dir, topology.tls!.nodes, opts.days);
    io.out(`${dir}: created ${r.created.length ? r.created.join(', ') : 'nothing'}; kept ${r.kept.length} existing\n`);
    io.out('private keys (*.key, ca.key) stay in this directory: keep it out of version control\n');
  },
});
