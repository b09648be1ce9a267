/** `etcd-cluster maintenance log`: what the backup container's scheduled defragmenter did, run by run. */
import type { MaintenanceRun } from '../../runtime/maintenance';
import { defineCommand } from '../command';
import type { Column } from '../printers';

/** One row per member a run defragmented; a run that defragmented none (or says more) gets a row of its own. */
interface Row {
  readonly run: MaintenanceRun;
  readonly step?: MaintenanceRun['steps'][number];
}

const COLUMNS: Column<Row>[] = [
  { header: 'TIME', cell: (r) => r.run.time },
  { header: 'RUN', cell: (r) => r.run.run },
  { header: 'RESULT', cell: (r) => r.run.result },
  { header: 'MEMBER', cell: (r) => r.step?.member ?? '-' },
  { header: 'ROLE', cell: (r) => r.step?.role ?? '-' },
  { header: 'BEFORE', cell: (r) => (r.step ? String(r.step.beforeBytes) : '-') },
  { header: 'AFTER', cell: (r) => (r.step ? String(r.step.afterBytes) : '-') },
  { header: 'WHY', cell: (r) => (r.step ? r.step.reason : (r.run.message ?? '')) },
];

export function rowsOf(runs: readonly MaintenanceRun[]): Row[] {
  return runs.flatMap((run) => [...(run.message || !run.steps.length ? [{ run }] : []), ...run.steps.map((step) => ({ run, step }))]);
}

export default defineCommand({
  path: ['maintenance', 'log'],
  groupDescription: "what the backup container's scheduled defragmenter did (spec: defrag): maintenance log",
  description: 'list the runs of the scheduled defragmenter, oldest first: each member it defragmented, NOSPACE reclaimed, runs skipped or stopped and why',
  needs: ['backup'],
  async run(ctx) {
    const e = await ctx.cluster();
    if (e.backup && e.space && !e.space.defragEvery)
      ctx.say(`the scheduled defragmenter of ${e.target.cluster} is off (defrag.enabled is false); its earlier runs follow`);
    const { maintenanceLog } = await import('../../runtime/maintenance');
    const runs = await maintenanceLog(e);
    const every = e.space?.defragEvery ? ` (it looks every ${e.space.defragEvery})` : '';
    ctx.printer.records(COLUMNS, rowsOf(runs), { empty: `${e.target.cluster}: no defragmenter run yet${every}\n`, value: runs });
  },
});
