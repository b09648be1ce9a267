/** `etcd-cluster alarm list | disarm`: etcd's alarms (NOSPACE, CORRUPT). */
import type { ActiveAlarm } from '../../runtime/maintenance';
import { hex } from '../../runtime/live';
import { defineCommand } from '../command';
import type { Column } from '../printers';

const COLUMNS: Column<ActiveAlarm>[] = [
  { header: 'MEMBER', cell: (a) => a.member },
  { header: 'ID', cell: (a) => hex(a.memberId) },
  { header: 'ALARM', cell: (a) => a.alarm },
];

const GROUP = "list or disarm etcd's alarms (NOSPACE, CORRUPT): alarm list | disarm";

export const alarmList = defineCommand({
  path: ['alarm', 'list'],
  groupDescription: GROUP,
  description: 'list the active alarms',
  async run(ctx) {
    const e = await ctx.cluster();
    const { alarms } = await import('../../runtime/maintenance');
    const list = await alarms(e, { password: ctx.password(e.target) });
    ctx.printer.records(COLUMNS, list, { empty: `${e.target.cluster}: no active alarm\n` });
  },
});

export const alarmDisarm = defineCommand({
  path: ['alarm', 'disarm'],
  groupDescription: GROUP,
  description: 'deactivate every active alarm (after making room: compact, defrag)',
  async run(ctx) {
    const e = await ctx.cluster();
    const { disarm } = await import('../../runtime/maintenance');
    const list = await disarm(e, { password: ctx.password(e.target) });
    ctx.printer.records(COLUMNS, list, { heading: `${e.target.cluster}: disarmed\n`, empty: `${e.target.cluster}: no active alarm\n` });
  },
});
