/**
 * Runtime reconfiguration of the voting members, one member at a time, as the membership hooks run it:
 * `add` (as a learner, before the container starts), `promote` (once it has caught up), `remove` (before
 * the container goes). Every step refuses an unsafe change before touching anything, and is idempotent so
 * that a retried apply picks up where it stopped.
 */
import type { Etcd3 } from 'etcd3';
import type { MemberOp } from '../contract';
import { findVolume } from './docker';
import { ClusterUnreachable, DockerHostError, MembershipError } from './errors';
import { connect } from './etcd-client';
import { retryUntil } from './retry';

export { ClusterUnreachable, MembershipError } from './errors';

interface Member {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

const text = (e: unknown) => ((e as Error)?.message ?? String(e)).replace(/\s+/g, ' ');

class Session {
  private readonly clients = new Map<string, Etcd3>();
  constructor(
    private readonly op: MemberOp,
    private readonly password?: string,
  ) {}

  client(endpoint: string): Etcd3 {
    let c = this.clients.get(endpoint);
    if (!c) {
      const auth = this.op.auth && this.password ? { username: this.op.auth.user, password: this.password } : undefined;
      this.clients.set(endpoint, (c = connect(endpoint, { timeoutMs: 3000, tls: this.op.tls, auth })));
    }
    return c;
  }

  /** The member list, from the first endpoint (other than the member's own) that answers. */
  async members(): Promise<{ list: Member[]; via: string }> {
    const errors: string[] = [];
    for (const endpoint of this.op.endpoints) {
      try {
        const r = await this.client(endpoint).cluster.memberList({ linearizable: true });
        return {
          list: r.members.map((m) => ({ ID: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: !!m.isLearner })),
          via: endpoint,
        };
      } catch (e) {
        errors.push(`${endpoint}: ${text(e)}`);
      }
    }
    throw new ClusterUnreachable(`no member of ${this.op.cluster} answers (${errors.join('; ')})`);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

/** Endpoint of a member by name, among the endpoints this operation knows (primaries 1..i). */
function endpointOf(op: MemberOp, name: string): string | undefined {
  const m = /-primary-(\d+)$/.exec(name);
  return m ? op.endpoints[Number(m[1]) - 1] : undefined;
}

/** How long a voter may take to answer before a change is refused: a member restarting right now (one the
 * same deploy is replacing) answers within a few seconds; a stopped one does not. */
const VOTER_GRACE_MS = 10_000;

/** Endpoints of the members other than the one changing; all of them when it is the only one known. */
function otherEndpoints(op: MemberOp): string[] {
  const own = endpointOf(op, op.name);
  const others = op.endpoints.filter((e) => e !== own);
  return others.length ? others : op.endpoints;
}

/** Where to ask for a change: the endpoint that just answered, unless it is the changing member's own. */
function askVia(op: MemberOp, via: string): string {
  const others = otherEndpoints(op);
  return others.includes(via) ? via : others[0];
}

/** Refuses when any voter does not answer: etcd would refuse too, and the change could cost quorum. */
async function requireHealthyVoters(s: Session, op: MemberOp, list: Member[], except?: string): Promise<void> {
  // (A member these hooks do not know is left to etcd's own check.)
  let pending = list.filter((m) => !m.isLearner && m.peerURLs[0] !== except && endpointOf(op, m.name));
  const down = await retryUntil(
    async () => {
      const silent: Member[] = [];
      await Promise.all(
        pending.map(async (m) => {
          try {
            await s.client(endpointOf(op, m.name)!).maintenance.status();
          } catch {
            silent.push(m);
          }
        }),
      );
      pending = silent;
      return silent;
    },
    { timeoutMs: VOTER_GRACE_MS, initialDelayMs: 1000, maxDelayMs: 1000, retryResult: (silent) => silent.length > 0 },
  );
  if (down.length) {
    throw new MembershipError(
      `refusing to change membership of ${op.cluster}: voter ${down
        .map((m) => m.name || m.ID)
        .sort()
        .join(', ')} does not answer; start it first`,
    );
  }
}

export async function addMember(op: MemberOp, password?: string): Promise<string> {
  const s = new Session(op, password);
  try {
    const { list, via } = await s.members();
    const existing = list.find((m) => m.peerURLs.includes(op.peerUrl));
    // A learner at this URL is this member, added by an earlier try; so is a voter, unless it is replaced.
    if (existing && (existing.isLearner || !op.replaces)) return `${op.name} is already a member (${existing.isLearner ? 'learner' : 'voter'})`;
    const pending = list.find((m) => m.isLearner);
    if (pending)
      throw new MembershipError(`refusing to add ${op.name}: learner ${pending.name || pending.peerURLs[0]} is still pending; promote or remove it first`);
    await requireHealthyVoters(s, op, list, existing?.peerURLs[0]);
    if (existing && list.filter((m) => !m.isLearner).length <= 1) {
      throw new MembershipError(`refusing to replace ${op.name}: it is the only voting member, and removing it would lose the cluster`);
    }
    await requireNoVolume(op);
    const done: string[] = [];
    if (existing) {
      await s.client(askVia(op, via)).cluster.memberRemove({ ID: existing.ID });
      done.push(`removed the replaced member ${op.name} (ID ${existing.ID})`);
    }
    const added = await addLearner(s, op);
    done.push(`added ${op.name} as a learner (${op.peerUrl}, ID ${added})`);
    return done.join('; ');
  } finally {
    s.close();
  }
}

/** Adds the learner, retrying while etcd's strict reconfiguration check is still settling after a removal. */
async function addLearner(s: Session, op: MemberOp): Promise<string> {
  const final = (e: Error) => /already exists|member count is unequal/i.test(text(e));
  try {
    return await retryUntil(
      async () => {
        let last: unknown;
        for (const endpoint of otherEndpoints(op)) {
          try {
            return (await s.client(endpoint).cluster.memberAdd({ peerURLs: [op.peerUrl], isLearner: true })).member.ID;
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
    throw new MembershipError(`could not add ${op.name}: ${text(e)}`);
  }
}

/** Refuses when the member's data volume exists already: it would hold a removed member's data. */
async function requireNoVolume(op: MemberOp): Promise<void> {
  let found;
  try {
    found = await findVolume(op.volume, op.docker?.host, op.docker?.sshOpts);
  } catch (e) {
    if (e instanceof DockerHostError) throw new MembershipError(`refusing to add ${op.name}: cannot check for a leftover data volume: ${e.message}`);
    throw e;
  }
  if (found) {
    const host = op.docker?.host ?? 'the Docker host';
    throw new MembershipError(
      `refusing to add ${op.name}: data volume ${op.volume} already exists on ${host}${found.createdAt ? ` (created ${found.createdAt})` : ''} and may hold a removed member's data; keep what you need from it, remove it (docker volume rm ${op.volume}) and deploy again`,
    );
  }
}

export async function promoteMember(op: MemberOp, timeoutMs: number, password?: string): Promise<string> {
  const s = new Session(op, password);
  try {
    return await retryUntil(
      async () => {
        const { list, via } = await s.members();
        const m = list.find((x) => x.peerURLs.includes(op.peerUrl));
        if (!m) throw new MembershipError(`${op.name} is not a member of ${op.cluster}; nothing to promote`);
        if (!m.isLearner) return `${op.name} is a voting member`;
        await s.client(via).cluster.memberPromote({ ID: m.ID });
        return `promoted ${op.name} to a voting member`;
      },
      // "can only promote a learner member which is in sync with leader": not caught up yet.
      { timeoutMs, initialDelayMs: 100, maxDelayMs: 1000, retryError: (e) => !(e instanceof MembershipError) },
    );
  } catch (e) {
    if (e instanceof MembershipError) throw e;
    throw new MembershipError(`could not promote ${op.name} within ${timeoutMs / 1000}s: ${text(e)}`);
  } finally {
    s.close();
  }
}

export async function removeMember(op: MemberOp, password?: string): Promise<string> {
  const s = new Session(op, password);
  try {
    const { list, via } = await s.members();
    const m = list.find((x) => x.peerURLs.includes(op.peerUrl));
    if (!m) return `${op.name} is not a member; nothing to remove`;
    if (!m.isLearner) {
      const voters = list.filter((x) => !x.isLearner).length;
      if (voters <= 1) throw new MembershipError(`refusing to remove ${op.name}: it is the last voting member`);
      await requireHealthyVoters(s, op, list, op.peerUrl);
    }
    // Ask a member other than the one leaving, when there is one.
    await s.client(askVia(op, via)).cluster.memberRemove({ ID: m.ID });
    return `removed ${op.name} (${op.peerUrl})`;
  } finally {
    s.close();
  }
}
