/** Table columns that several commands print (a command never imports from a sibling command). */
import type { DefragStep } from '../runtime/maintenance';
import type { Column } from './printers';

/** One defragmented member a row: `defrag` and `reclaim`. */
export const STEP_COLUMNS: Column<DefragStep>[] = [
  { header: 'MEMBER', cell: (s) => s.member },
  { header: 'ROLE', cell: (s) => s.role },
  { header: 'BEFORE', cell: (s) => `${s.beforeBytes}` },
  { header: 'AFTER', cell: (s) => `${s.afterBytes}` },
  { header: 'SECONDS', cell: (s) => s.seconds.toFixed(1) },
  { header: 'REASON', cell: (s) => s.reason },
];
