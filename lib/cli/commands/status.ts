/**
 * `etcd-cluster status`: what each primary says of itself, as `etcdctl endpoint status` shows it (version,
 * database size and what of it is in use, leader, learner, raft term and indexes, revision, alarms).
 * One look, asked of every primary at once through the cluster session.
 */
import type { PrimaryView } from '../../runtime/session';
import { hex } from '../../runtime/live';
import { defineCommand } from '../command';
import { EXIT } from '../exit-codes';
import type { Column } from '../printers';

const of = (v: PrimaryView, f: (s: NonNullable<PrimaryView['status']>) => string) => (v.status ? f(v.status) : '-');

const COLUMNS: Column<PrimaryView>[] = [
  { header: 'NAME', cell: (v) => v.primary.name },
  { header: 'ENDPOINT', cell: (v) => v.primary.endpoint },
  { header: 'ID', cell: (v) => of(v, (s) => hex(s.memberId)) },
  { header: 'VERSION', cell: (v) => of(v, (s) => s.version) },
  { header: 'DB-SIZE', cell: (v) => of(v, (s) => String(s.dbSize)) },
  { header: 'IN-USE', cell: (v) => of(v, (s) => String(s.dbSizeInUse)) },
  { header: 'LEADER', cell: (v) => of(v, (s) => String(s.isLeader)) },
  { header: 'LEARNER', cell: (v) => of(v, (s) => String(s.isLearner)) },
  { header: 'RAFT-TERM', cell: (v) => of(v, (s) => s.raftTerm) },
  { header: 'RAFT-INDEX', cell: (v) => of(v, (s) => s.raftIndex) },
  { header: 'APPLIED', cell: (v) => of(v, (s) => s.raftAppliedIndex) },
  { header: 'REVISION', cell: (v) => of(v, (s) => s.revision) },
  { header: 'ERRORS', cell: (v) => v.error ?? (v.status?.errors.join(', ') || '-') },
];

export default defineCommand({
  path: ['status'],
  description: 'show what each primary says of itself: version, db size and in use, leader, raft term and index, revision (etcdctl endpoint status)',
  async run(ctx) {
    const e = await ctx.cluster();
    const { withSession } = await import('../../runtime/session');
    const views = await withSession(e.target, { password: ctx.password(e.target) }, (s) => s.survey());
    ctx.printer.records(COLUMNS, views, {
      value: views.map((v) => ({ name: v.primary.name, endpoint: v.primary.endpoint, ...(v.status ? { status: v.status } : { error: v.error }) })),
    });
    return views.every((v) => v.status) ? EXIT.OK : views.some((v) => v.status) ? EXIT.MISMATCH : EXIT.UNAVAILABLE;
  },
});
