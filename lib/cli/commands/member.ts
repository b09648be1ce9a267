/**
 * `etcd-cluster member add | promote | remove`: change the voting members one at a time. The membership
 * hooks run these; the member comes from ETCD_CLUSTER_MEMBER, which they set from their input (a version-1
 * input, recorded in the state by release 0.2.0, is read too).
 */
import { MEMBER_ENV, parseMemberOp, parseStagger, STAGGER_ENV } from '../../contract';
import { DEFAULTS } from '../../model/defaults';
import { defineCommand, type CommandSpec } from '../command';

const GROUP =
  "change the voting members one at a time: member add | promote | remove (run by the membership hooks); member stagger (run by a founding member's volume step)";

function memberCommand(verb: 'add' | 'promote' | 'remove', description: string, timeout?: CommandSpec<unknown>['timeout']) {
  return defineCommand({
    path: ['member', verb],
    groupDescription: GROUP,
    description,
    source: false,
    json: false,
    timeout,
    async run(ctx) {
      const op = parseMemberOp(ctx.io.env[MEMBER_ENV], MEMBER_ENV);
      const password = ctx.password(op.target);
      const { addMember, promoteMember, removeMember } = await import('../../runtime/membership');
      const done =
        verb === 'add'
          ? await addMember(op, password)
          : verb === 'promote'
            ? await promoteMember(op, ctx.opts.timeout! * 1000, password)
            : await removeMember(op, password);
      ctx.printer.result(`${op.target.cluster}: ${done}`, undefined);
    },
  });
}

export const memberAdd = memberCommand('add', 'add the member as a learner, unless it is one already');
export const memberPromote = memberCommand('promote', 'promote the learner once it has caught up', {
  seconds: DEFAULTS.verifyTimeoutSeconds,
  description: 'give up after this many seconds',
});
export const memberRemove = memberCommand('remove', 'remove the member, unless it is gone already');

/**
 * `member stagger`: a founder's volume step runs it on a new cluster's first deploy, so that the founders
 * boot one after another (lib/runtime/stagger.ts). Prints one line and exits 0 however the wait ended; only
 * a malformed message fails it.
 */
export const memberStagger = defineCommand({
  path: ['member', 'stagger'],
  groupDescription: GROUP,
  description: "wait until the founding member before this one runs (a new cluster's first deploy), at most the message's timeout",
  source: false,
  json: false,
  async run(ctx) {
    const m = parseStagger(ctx.io.env[STAGGER_ENV], STAGGER_ENV);
    const { awaitPrevious, staggerLine } = await import('../../runtime/stagger');
    ctx.printer.result(staggerLine(m, await awaitPrevious(m, ctx.io.env)), undefined);
  },
});
