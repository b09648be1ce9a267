/** `etcd-cluster backups`: the snapshots the cluster's backup container has taken. */
import type { BackupEntry } from '../../runtime/snapshot';
import { defineCommand } from '../command';
import type { Column } from '../printers';

const COLUMNS: Column<BackupEntry>[] = [
  { header: 'FILE', cell: (b) => b.file },
  { header: 'TAKEN', cell: (b) => b.taken },
  { header: 'REVISION', cell: (b) => String(b.revision) },
  { header: 'SIZE', cell: (b) => String(b.bytes) },
];

export default defineCommand({
  path: ['backups'],
  description: "list the snapshots the cluster's backup container has taken (spec: backup)",
  needs: ['backup'],
  async run(ctx) {
    const e = await ctx.cluster();
    const { listBackups } = await import('../../runtime/snapshot');
    ctx.printer.records(COLUMNS, await listBackups(e), { empty: `${e.target.cluster}: no snapshot yet\n` });
  },
});
