/**
 * Runtime reconfiguration of the voting members, one member at a time, as the membership hooks run it:
 * `add` (as a learner, before the container starts), `promote` (once it has caught up), `remove` (before
 * the container goes). Every step refuses an unsafe change before touching anything, and is idempotent so
 * that a retried apply picks up where it stopped.
 */
import { ContractError, memberOf, type DockerHost, type MemberOp } from '../contract';
import { findVolume } from './docker';
import { etcdCause } from './etcd-errors';
import { ClusterUnreachable, DockerHostError, MembershipError } from './errors';
import { retryUntil } from './retry';
import { ClusterSession, type LiveMember, type SessionPrimary } from './session';

export { ClusterUnreachable, MembershipError } from './errors';

const text = (e: unknown) => ((e as Error)?.message ?? String(e)).replace(/\s+/g, ' ');

/** A session on the operation's target (primaries 1..i), with the hooks' deadline. */
const sessionOf = (op: MemberOp, password?: string) => new ClusterSession(op.target, { password, callTimeoutMs: 3000 });

/** How long a voter may take to answer before a change is refused: a member restarting right now (one the
 * same deploy is replacing) answers within a few seconds; a stopped one does not. */
const VOTER_GRACE_MS = 10_000;

/** The primaries other than the one changing; all of them when it is the only one known. */
function others(op: MemberOp): SessionPrimary[] {
  const rest = op.target.primaries.filter((p) => p.name !== op.member);
  return rest.length ? rest : op.target.primaries;
}

/** Where to ask for a change: the primary that just answered, unless it is the changing member itself. */
function askVia(op: MemberOp, via: SessionPrimary): SessionPrimary {
  const rest = others(op);
  return rest.includes(via) ? via : rest[0];
}

/** Refuses when any voter does not answer: etcd would refuse too, and the change could cost quorum. */
async function requireHealthyVoters(s: ClusterSession, op: MemberOp, list: LiveMember[], except?: string): Promise<void> {
  // (A member this operation's target does not list is left to etcd's own check.)
  let pending = list.filter((m) => !m.isLearner && m.peerURLs[0] !== except && s.primary(m.name));
  const down = await retryUntil(
    async () => {
      const silent: LiveMember[] = [];
      await Promise.all(
        pending.map(async (m) => {
          try {
            await s.status(s.primary(m.name)!.endpoint);
          } catch {
            silent.push(m);
          }
        }),
      );
      // A voter removed meanwhile (shrinking 3 -> 1 removes two members in one apply, and a removed member
      // stops at once) is no voter any more: only those still in the member list count.
      const still = silent.length
        ? await s.members().then(
            ({ list: now }) => silent.filter((m) => now.some((x) => x.ID === m.ID)),
            () => silent,
          )
        : silent;
      pending = still;
      return still;
    },
    { timeoutMs: VOTER_GRACE_MS, initialDelayMs: 1000, maxDelayMs: 1000, retryResult: (silent) => silent.length > 0 },
  );
  if (down.length) {
    throw new MembershipError(
      `refusing to change membership of ${op.target.cluster}: voter ${down
        .map((m) => m.name || m.ID)
        .sort()
        .join(', ')} does not answer; start it first`,
    );
  }
}

/** The member an operation is about; its peer URL and volume are in every message (version 1 had them too). */
function self(op: MemberOp): { name: string; peerUrl: string; volume: string; docker: DockerHost | null } {
  const m = memberOf(op);
  if (!m.peerUrl || !m.volume) throw new ContractError(`member ${op.member}: its peer URL and volume are missing from the operation`);
  return { name: m.name, peerUrl: m.peerUrl, volume: m.volume, docker: m.docker };
}

export async function addMember(op: MemberOp, password?: string): Promise<string> {
  const me = self(op);
  const s = sessionOf(op, password);
  try {
    const { list, via } = await s.members();
    const existing = list.find((m) => m.peerURLs.includes(me.peerUrl));
    // A learner at this URL is this member, added by an earlier try; so is a voter, unless it is replaced.
    if (existing && (existing.isLearner || !op.replaces)) return `${me.name} is already a member (${existing.isLearner ? 'learner' : 'voter'})`;
    const pending = list.find((m) => m.isLearner);
    if (pending)
      throw new MembershipError(`refusing to add ${me.name}: learner ${pending.name || pending.peerURLs[0]} is still pending; promote or remove it first`);
    await requireHealthyVoters(s, op, list, existing?.peerURLs[0]);
    if (existing && list.filter((m) => !m.isLearner).length <= 1) {
      throw new MembershipError(`refusing to replace ${me.name}: it is the only voting member, and removing it would lose the cluster`);
    }
    await requireNoVolume(me);
    const done: string[] = [];
    if (existing) {
      await s.client(askVia(op, via).endpoint).cluster.memberRemove({ ID: existing.ID });
      done.push(`removed the replaced member ${me.name} (ID ${existing.ID})`);
    }
    const added = await addLearner(s, op, me);
    done.push(`added ${me.name} as a learner (${me.peerUrl}, ID ${added})`);
    return done.join('; ');
  } finally {
    s.close();
  }
}

/** Adds the learner, retrying while etcd's strict reconfiguration check is still settling after a removal. */
async function addLearner(s: ClusterSession, op: MemberOp, me: ReturnType<typeof self>): Promise<string> {
  const final = (e: Error) => /already exists|member count is unequal/i.test(text(e));
  try {
    return await retryUntil(
      async () => {
        let last: unknown;
        for (const p of others(op)) {
          try {
            return (await s.client(p.endpoint).cluster.memberAdd({ peerURLs: [me.peerUrl], isLearner: true })).member.ID;
          } catch (e) {
            last = e;
            if (final(e as Error)) break;
          }
        }
        throw last;
      },
      { timeoutMs: 20_000, initialDelayMs: 200, maxDelayMs: 2000, retryError: (e) => !final(e) },
    );
  } catch (e) {
    throw new MembershipError(`could not add ${me.name}: ${text(e)}`);
  }
}

/** Refuses when the member's data volume exists already: it would hold a removed member's data. */
async function requireNoVolume(me: ReturnType<typeof self>): Promise<void> {
  let found;
  try {
    found = await findVolume(me.volume, me.docker);
  } catch (e) {
    if (e instanceof DockerHostError) throw new MembershipError(`refusing to add ${me.name}: cannot check for a leftover data volume: ${e.message}`);
    throw e;
  }
  if (found) {
    const host = me.docker?.host ?? 'the Docker host';
    throw new MembershipError(
      `refusing to add ${me.name}: data volume ${me.volume} already exists on ${host}${found.createdAt ? ` (created ${found.createdAt})` : ''} and may hold a removed member's data; keep what you need from it, remove it (docker volume rm ${me.volume}) and deploy again`,
    );
  }
}

export async function promoteMember(op: MemberOp, timeoutMs: number, password?: string): Promise<string> {
  const me = self(op);
  const s = sessionOf(op, password);
  try {
    return await retryUntil(
      async () => {
        const { list } = await s.members();
        const m = list.find((x) => x.peerURLs.includes(me.peerUrl));
        if (!m) throw new MembershipError(`${me.name} is not a member of ${op.target.cluster}; nothing to promote`);
        if (!m.isLearner) return `${me.name} is a voting member`;
        // To the leader: a follower forwards a promote over the peer API without the login, and with auth
        // etcd before 3.5.28 and 3.6.6 (3.4 always) refuses it there ("user name is empty") until it times out.
        const leader = await s.anyPrimary({ leaderFirst: true });
        await leader.client.cluster.memberPromote({ ID: m.ID });
        return `promoted ${me.name} to a voting member`;
      },
      // "can only promote a learner member which is in sync with leader": not caught up yet.
      { timeoutMs, initialDelayMs: 100, maxDelayMs: 1000, retryError: (e) => !(e instanceof MembershipError) },
    );
  } catch (e) {
    if (e instanceof MembershipError) throw e;
    throw new MembershipError(`could not promote ${me.name} within ${timeoutMs / 1000}s: ${text(e)}`);
  } finally {
    s.close();
  }
}

export async function removeMember(op: MemberOp, password?: string): Promise<string> {
  const me = self(op);
  const s = sessionOf(op, password);
  try {
    // The same apply may be restarting the members that stay (a replaced container) or removing another:
    // no member answering for a moment is waited out, up to 20 s, before it is an error.
    const { list, via } = await retryUntil(() => s.members(), {
      timeoutMs: 20_000,
      initialDelayMs: 500,
      maxDelayMs: 2000,
      retryError: (e) => e instanceof ClusterUnreachable,
    });
    const m = list.find((x) => x.peerURLs.includes(me.peerUrl));
    if (!m) return `${me.name} is not a member; nothing to remove`;
    if (!m.isLearner) {
      const voters = list.filter((x) => !x.isLearner).length;
      if (voters <= 1) throw new MembershipError(`refusing to remove ${me.name}: it is the last voting member`);
      await requireHealthyVoters(s, op, list, me.peerUrl);
    }
    // Ask a member other than the one leaving, when there is one. etcd's strict reconfiguration check
    // refuses a removal ("unhealthy cluster") until the voters that stay have been connected for 5 s: right
    // after a bootstrap, or while another removal of the same apply settles (shrinking 3 -> 1 removes two).
    const unhealthy = (e: Error) => /unhealthy cluster/i.test(text(e));
    // A removal of another member in the same apply (0.2.0's stacks run them at once) makes the cluster
    // elect or reconfigure: a call that timed out or found no leader is asked again. Asked again after it
    // took effect, etcd answers "member not found", which is the result wanted.
    const transient = (e: Error) => unhealthy(e) || etcdCause(e) === 'unreachable' || /leader changed|no leader/i.test(text(e));
    try {
      await retryUntil(() => s.client(askVia(op, via).endpoint).cluster.memberRemove({ ID: m.ID }), {
        timeoutMs: 20_000,
        initialDelayMs: 200,
        maxDelayMs: 2000,
        retryError: transient,
      });
    } catch (e) {
      if (/member not found/i.test(text(e))) return `${me.name} is not a member; nothing to remove`;
      if (unhealthy(e as Error)) throw new MembershipError(`could not remove ${me.name}: ${text(e)}`);
      throw e;
    }
    return `removed ${me.name} (${me.peerUrl})`;
  } finally {
    s.close();
  }
}
