/**
 * `etcd-cluster backups`: the snapshots the cluster's backup container has taken, or with `backup.store`
 * what the store holds (full snapshots, delta ranges, large deletions); `backups fetch`: a point of the
 * store as a snapshot file, for `restore.snapshot` or `recover --snapshot`.
 */
import { resolve } from 'node:path';
import type { BackupEntry } from '../../runtime/snapshot';
import type { StoreLineage, StoreListing } from '../../runtime/store';
import { defineCommand } from '../command';
import { InputError } from '../errors';
import type { Column } from '../printers';

const GROUP = 'list the backups, or fetch a point in time from the store: backups | backups fetch';

const LOCAL: Column<BackupEntry>[] = [
  { header: 'FILE', cell: (b) => b.file },
  { header: 'TAKEN', cell: (b) => b.taken },
  { header: 'REVISION', cell: (b) => String(b.revision) },
  { header: 'SIZE', cell: (b) => String(b.bytes) },
];

/** A row of the store's table: a full snapshot, a run of continuous deltas, or a large deletion. */
export interface StoreRow {
  readonly kind: 'full' | 'deltas' | 'deletion';
  readonly clusterId: string;
  readonly revisions: string;
  readonly from: string;
  readonly to: string;
  readonly detail: string;
}

const STORE: Column<StoreRow>[] = [
  { header: 'KIND', cell: (r) => r.kind },
  { header: 'CLUSTER ID', cell: (r) => r.clusterId },
  { header: 'REVISIONS', cell: (r) => r.revisions },
  { header: 'FROM', cell: (r) => r.from },
  { header: 'TO', cell: (r) => r.to },
  { header: 'DETAIL', cell: (r) => r.detail },
];

/**
 * The store's objects as people read them: each full snapshot, the deltas folded into runs of continuous
 * revisions (a gap starts a new run), and every revision that deleted more than one key (the point just
 * before it is what undoes a `del --prefix`), in revision order within each lineage.
 */
export function storeRows(lineages: readonly StoreLineage[]): StoreRow[] {
  const rows: { rev: number; row: StoreRow }[] = [];
  for (const l of lineages) {
    const of: { rev: number; row: StoreRow }[] = [];
    for (const f of l.full)
      of.push({
        rev: f.revision,
        row: { kind: 'full', clusterId: l.clusterId, revisions: String(f.revision), from: f.taken, to: '-', detail: `${f.bytes} bytes` },
      });
    let run: { first: number; last: number; from: string; to: string; objects: number; bytes: number } | undefined;
    const close = () => {
      if (!run) return;
      of.push({
        rev: run.first,
        row: {
          kind: 'deltas',
          clusterId: l.clusterId,
          revisions: `${run.first}-${run.last}`,
          from: run.from,
          to: run.to,
          detail: `${run.objects} objects, ${run.bytes} bytes`,
        },
      });
      run = undefined;
    };
    for (const d of l.delta) {
      if (run && d.first !== run.last + 1) close();
      if (!run) run = { first: d.first, last: d.last, from: d.from, to: d.to, objects: 1, bytes: d.bytes };
      else Object.assign(run, { last: d.last, to: d.to, objects: run.objects + 1, bytes: run.bytes + d.bytes });
      if ((d.largestDeletionKeys ?? 0) > 1) {
        of.push({
          rev: d.largestDeletionRevision!,
          row: {
            kind: 'deletion',
            clusterId: l.clusterId,
            revisions: String(d.largestDeletionRevision),
            from: d.from,
            to: d.to,
            detail: `${d.largestDeletionKeys} keys deleted`,
          },
        });
      }
    }
    close();
    rows.push(...of.sort((a, b) => a.rev - b.rev || (a.row.kind === 'deletion' ? 1 : -1)));
  }
  return rows.map((r) => r.row);
}

export default defineCommand<{ local?: boolean }>({
  path: ['backups'],
  groupDescription: GROUP,
  description: "list the snapshots the cluster's backup container has taken, or with backup.store what the store holds (spec: backup)",
  needs: ['backup'],
  options: (cmd) => cmd.option('--local', "with a store: list the backup container's own snapshots instead"),
  async run(ctx) {
    const e = await ctx.cluster();
    if (e.backup?.store && !ctx.opts.local) {
      const { listStore } = await import('../../runtime/store');
      const listing: StoreListing = await listStore(e);
      const newest = listing.lineages[listing.lineages.length - 1];
      const status = listing.status
        ? `; the backup container stored revision ${listing.status.revision} (${listing.status.at})${listing.status.behindSince ? `, behind since ${listing.status.behindSince}` : ''}`
        : '';
      ctx.printer.records(STORE, storeRows(listing.lineages), {
        heading: newest
          ? `${e.target.cluster}: store prefix ${listing.prefix}, newest revision ${newest.newest} of cluster ID ${newest.clusterId}${status}\n`
          : undefined,
        empty: `${e.target.cluster}: the store holds nothing under ${listing.prefix} yet\n`,
        value: listing,
      });
      return;
    }
    const { listBackups } = await import('../../runtime/snapshot');
    ctx.printer.records(LOCAL, await listBackups(e), { empty: `${e.target.cluster}: no snapshot yet\n` });
  },
});

export const backupsFetch = defineCommand<{ out?: string; revision?: string; time?: string; clusterId?: string; force?: boolean }>({
  path: ['backups', 'fetch'],
  groupDescription: GROUP,
  description: 'write a point of the store (the newest, or --revision / --time) as a snapshot file for restore.snapshot',
  needs: ['backup'],
  options: (cmd) =>
    cmd
      .option('--out <file>', 'the snapshot file to write (default: <cluster>-from-store.db here)')
      .option('--revision <n>', 'the revision to restore to (the point just before a deletion is its revision - 1)')
      .option('--time <rfc3339>', 'the time to restore to, e.g. 2026-12-07T10:00:00Z')
      .option('--cluster-id <id>', 'the lineage (etcd cluster ID) to take it from; default: the one with the newest object')
      .option('--force', 'replace the file if it exists'),
  async run(ctx) {
    const { revision, time, clusterId, force } = ctx.opts;
    if (revision !== undefined && !/^[1-9]\d*$/.test(revision))
      throw new InputError(`--revision: must be a positive whole number (got ${JSON.stringify(revision)})`);
    if (time !== undefined && Number.isNaN(Date.parse(time)))
      throw new InputError(`--time: must be an RFC 3339 time like 2026-12-07T10:00:00Z (got ${JSON.stringify(time)})`);
    if (revision !== undefined && time !== undefined) throw new InputError('--revision and --time: give one of them, not both');
    if (clusterId !== undefined && !/^[0-9a-f]{16}$/.test(clusterId))
      throw new InputError(`--cluster-id: must be 16 hex digits as backups lists it (got ${JSON.stringify(clusterId)})`);
    const e = await ctx.cluster();
    if (!e.backup?.store) throw new InputError(`cluster ${e.target.cluster} has no backup store (add backup.store to its spec)`);
    const { fetchPoint } = await import('../../runtime/store');
    const file = resolve(ctx.io.cwd ?? process.cwd(), ctx.opts.out ?? `${e.target.cluster}-from-store.db`);
    ctx.progress(
      `fetching ${revision ? `revision ${revision}` : time ? `the point at ${time}` : 'the newest point'} of ${e.target.cluster} from its store ...\n`,
    );
    const r = await fetchPoint(e, file, { revision: revision ? Number(revision) : undefined, time, clusterId, force });
    ctx.printer.result(
      `${e.target.cluster}: wrote ${file}: revision ${r.revision} of cluster ID ${r.clusterId} (full snapshot ${r.full} and ${r.deltas} deltas, ${r.deltaEvents} events); restore it with restore.snapshot\n`,
      r,
    );
  },
});
