/**
 * Runtime reconfiguration of the voting members, one member at a time, as the membership hooks run it:
 * `add` (as a learner, before the container starts), `promote` (once it has caught up), `remove` (before
 * the container goes). Every step refuses an unsafe change before touching anything, and is idempotent so
 * that a retried apply picks up where it stopped.
 */
import type { Etcd3 } from 'etcd3';
import { DockerHostError, findVolume } from './docker-volume';
import { connect } from './etcd-client';
import { z } from 'zod';
import { InputError } from './expectation';
import { MEMBER_OP_KIND, type MemberOp } from './topology';

/** The environment variable through which membership hooks hand the member to `etcd-cluster member`. */
export const MEMBER_ENV = 'ETCD_CLUSTER_MEMBER';

export class MembershipError extends Error {}

const url = z.string().regex(/^https?:\/\/[^/\s]+$/);
const schema = z.object({
  kind: z.literal(MEMBER_OP_KIND),
  version: z.literal(1),
  cluster: z.string().min(1),
  name: z.string().min(1),
  peerUrl: url,
  endpoints: z.array(url).min(1),
  replaces: z.boolean(),
  volume: z.string().min(1),
  docker: z.object({ host: z.string().min(1), sshOpts: z.array(z.string()) }).nullable(),
  tls: z.object({ ca: z.string(), cert: z.string(), key: z.string() }).nullable(),
  auth: z.object({ user: z.literal('root'), passwordEnv: z.string() }).nullable(),
});

export function parseMemberOp(text: string | undefined, source: string): MemberOp {
  if (!text) throw new InputError(`${source}: not set (the membership hooks set it)`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${source}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = schema.safeParse(data);
  if (!r.success) throw new InputError(`${source}: malformed member: ${r.error.issues[0].path.join('.') || 'member'}: ${r.error.issues[0].message}`);
  return r.data as MemberOp;
}

interface Member {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
        return { list: r.members.map((m) => ({ ID: m.ID, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: !!m.isLearner })), via: endpoint };
      } catch (e) {
        errors.push(`${endpoint}: ${text(e)}`);
      }
    }
    throw new MembershipError(`no member of ${this.op.cluster} answers (${errors.join('; ')})`);
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
  let pending = list.filter((m) => !m.isLearner && m.peerURLs[0] !== except && endpointOf(op, m.name));
  // (A member these hooks do not know is left to etcd's own check.)
  const until = Date.now() + VOTER_GRACE_MS;
  for (;;) {
    const down: Member[] = [];
    await Promise.all(
      pending.map(async (m) => {
        try {
          await s.client(endpointOf(op, m.name)!).maintenance.status();
        } catch {
          down.push(m);
        }
      }),
    );
    if (!down.length) return;
    if (Date.now() + 1000 > until) {
      throw new MembershipError(`refusing to change membership of ${op.cluster}: voter ${down.map((m) => m.name || m.ID).sort().join(', ')} does not answer; start it first`);
    }
    pending = down;
    await sleep(1000);
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
    if (pending) throw new MembershipError(`refusing to add ${op.name}: learner ${pending.name || pending.peerURLs[0]} is still pending; promote or remove it first`);
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
  const until = Date.now() + 20_000;
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    let last = '';
    for (const endpoint of otherEndpoints(op)) {
      try {
        const r = await s.client(endpoint).cluster.memberAdd({ peerURLs: [op.peerUrl], isLearner: true });
        return r.member.ID;
      } catch (e) {
        last = text(e);
        if (/already exists|member count is unequal/i.test(last)) throw new MembershipError(`could not add ${op.name}: ${last}`);
      }
    }
    if (Date.now() + delay > until) throw new MembershipError(`could not add ${op.name}: ${last}`);
    await sleep(delay);
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
  const until = Date.now() + timeoutMs;
  let delay = 100;
  try {
    for (;;) {
      let last: string;
      try {
        const { list, via } = await s.members();
        const m = list.find((x) => x.peerURLs.includes(op.peerUrl));
        if (!m) throw new MembershipError(`${op.name} is not a member of ${op.cluster}; nothing to promote`);
        if (!m.isLearner) return `${op.name} is a voting member`;
        await s.client(via).cluster.memberPromote({ ID: m.ID });
        return `promoted ${op.name} to a voting member`;
      } catch (e) {
        if (e instanceof MembershipError) throw e;
        // "can only promote a learner member which is in sync with leader": not caught up yet.
        last = text(e);
      }
      if (Date.now() + delay > until) throw new MembershipError(`could not promote ${op.name} within ${timeoutMs / 1000}s: ${last}`);
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
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
