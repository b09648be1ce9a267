/**
 * Every command of `etcd-cluster`, in the order `--help` lists them. A new command is one file in this
 * folder (see command.ts) and one line here.
 */
import type { CommandSpec } from '../command';
import { alarmDisarm, alarmList } from './alarm';
import backups, { backupsFetch } from './backups';
import compact from './compact';
import defrag from './defrag';
import guard from './guard';
import maintenanceLog from './maintenance';
import { memberAdd, memberPromote, memberRemove, memberStagger } from './member';
import members from './members';
import { networkCreate, networkRemove } from './network';
import pki from './pki';
import pkiRenew from './pki-renew';
import { rotateDropOld, rotateReissue, rotateTrustNew } from './pki-rotate-ca';
import pkiStatus from './pki-status';
import reclaim from './reclaim';
import recover from './recover';
import rollout from './rollout';
import scrapeConfig from './scrape-config';
import { snapshotSave, snapshotStatus } from './snapshot';
import status from './status';
import upgradeCheck from './upgrade-check';
import verify from './verify';

export const COMMANDS: readonly CommandSpec<never>[] = [
  verify,
  members,
  status,
  defrag,
  reclaim,
  compact,
  alarmList,
  alarmDisarm,
  scrapeConfig,
  rollout,
  recover,
  upgradeCheck,
  snapshotSave,
  snapshotStatus,
  backups,
  backupsFetch,
  maintenanceLog,
  memberAdd,
  memberPromote,
  memberRemove,
  memberStagger,
  networkCreate,
  networkRemove,
  guard,
  pki,
  pkiStatus,
  pkiRenew,
  rotateTrustNew,
  rotateReissue,
  rotateDropOld,
];
