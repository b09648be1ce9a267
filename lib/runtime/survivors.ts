/**
 * The survivors of a lost quorum: which primaries still hold data, how far each got, and which one a
 * recovery rebuilds the cluster from.
 *
 * A primary that answers reports its committed raft index, term and revision (Status needs no quorum and no
 * login). For one that does not (its container stopped, hung or gone, its volume still there) the data is
 * read offline, through a container created on the volume and never started: the WAL gives the newest
 * HardState (commit index, term), the database its applied index (`meta/consistent_index`) and revision.
 * Measured (etcd 3.5.21 and 3.6.16): after SIGKILL the WAL's commit index can be behind the database (etcd
 * does not sync a HardState whose only change is the commit index), so a member's progress is the larger of
 * the two, which is also what `--force-new-cluster` keeps from etcd 3.5.22 and 3.6.1 on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSnapshot } from '../model/snapshot';
import { LABEL_CLUSTER, LABEL_ROLE } from '../model/topology/types';
import { DockerEngine } from './docker';
import { DockerHostError, InvalidRequest, RecoveryRefused } from './errors';
import { errorText } from './etcd-client';
import { onInterrupt } from './interrupt';
import { readWal, untar, walFilesOf } from './member-data';
import type { RecoveryStack, StackPrimary } from './recover-stack';
import { retryUntil } from './retry';
import { withSession } from './session';

/** Where a member's data directory is, inside its container. */
export const MEMBER_DIR = '/var/lib/etcd/data/member';

export type SurvivorState =
  /** Its etcd answers. */
  | 'answers'
  /** Its container runs, its etcd does not answer; data read offline. */
  | 'silent'
  /** Its container is stopped; data read offline. */
  | 'stopped'
  /** No container, the volume is there; data read offline. */
  | 'volume only'
  /** No volume, or a volume without etcd data. */
  | 'lost'
  /** A volume whose data could not be read. */
  | 'unreadable';

export interface SurvivorRow {
  readonly name: string;
  readonly index: number;
  readonly state: SurvivorState;
  /** Committed raft index: a member's Status, or the larger of its WAL's commit index and its database's applied index. */
  readonly raftIndex?: number;
  readonly raftTerm?: number;
  readonly revision?: number;
  /** Offline reads: the WAL's commit index and the database's applied index. */
  readonly walCommit?: number;
  readonly dbIndex?: number;
  readonly leader?: boolean;
  readonly error?: string;
}

export interface Survey {
  readonly cluster: string;
  readonly rows: SurvivorRow[];
  /** Set when the cluster still has a quorum (a linearizable read succeeded through this member). */
  readonly quorumVia?: string;
}

const readable = (r: SurvivorRow) => r.raftIndex !== undefined;

/** Whether `a` holds more than `b`: a higher committed index, then a higher term. */
const ahead = (a: SurvivorRow, b: SurvivorRow) => a.raftIndex! - b.raftIndex! || a.raftTerm! - b.raftTerm!;

export type Decision = { readonly kind: 'survivor'; readonly from: SurvivorRow; readonly ahead: SurvivorRow[] } | { readonly kind: 'snapshot' };

/**
 * Which survivor to rebuild from, or a snapshot; refuses (RecoveryRefused, one line) what is not safe to
 * do unasked. `from` is a member name or primary number.
 */
export function decide(s: Survey, opts: { from?: string; acceptLoss?: boolean; snapshot?: boolean; namedSnapshot?: boolean } = {}): Decision {
  if (s.quorumVia) {
    const answering = s.rows.filter((r) => r.state === 'answers').length;
    throw new RecoveryRefused(
      `refusing to recover ${s.cluster}: it has a quorum (${answering} of ${s.rows.length} primaries answer, a linearizable read through ${s.quorumVia} succeeded); to rebuild a failed primary use replace (README, "Replacing a failed primary")`,
    );
  }
  const survivors = s.rows.filter(readable);
  const unreadable = s.rows.filter((r) => r.state === 'unreadable');
  if (opts.namedSnapshot && (survivors.length || unreadable.length)) {
    const holding = [...survivors, ...unreadable].map((r) => r.name).join(', ');
    throw new RecoveryRefused(
      `refusing to restore ${s.cluster} from --snapshot: ${holding} still ${survivors.length + unreadable.length > 1 ? 'hold' : 'holds'} data, which restoring a snapshot would throw away; run recover without --snapshot to recover from the survivor`,
    );
  }
  if (opts.from !== undefined) {
    const named = s.rows.find((r) => r.name === opts.from || String(r.index) === opts.from);
    if (!named) throw new InvalidRequest(`--from: ${s.cluster} has no primary ${opts.from} (primaries: ${s.rows.map((r) => r.name).join(', ')})`);
    if (!readable(named)) {
      throw new RecoveryRefused(
        `refusing to recover ${s.cluster} from ${named.name}: ${named.state === 'unreadable' ? `its data cannot be read (${named.error})` : 'it has no data (no volume, or an empty one)'}`,
      );
    }
    const better = survivors.filter((r) => r !== named && ahead(r, named) > 0).sort((a, b) => ahead(b, a));
    if ((better.length || unreadable.length) && !opts.acceptLoss) {
      const why = better.length
        ? `${better[0].name} is ahead of it (raft index ${better[0].raftIndex} against ${named.raftIndex}, revision ${better[0].revision ?? '?'} against ${named.revision ?? '?'}): what it holds beyond would be lost`
        : `the data of ${unreadable.map((r) => r.name).join(', ')} cannot be read, so it may be ahead`;
      throw new RecoveryRefused(`refusing to recover ${s.cluster} from ${named.name}: ${why}; pass --accept-loss to recover from it anyway`);
    }
    return { kind: 'survivor', from: named, ahead: better };
  }
  if (unreadable.length) {
    const r = unreadable[0];
    throw new RecoveryRefused(
      `refusing to recover ${s.cluster}: the data of ${r.name} cannot be read (${r.error}); it may be the most advanced survivor: fix what keeps it from being read, or name the survivor to recover from with --from and --accept-loss`,
    );
  }
  if (!survivors.length) {
    if (opts.snapshot) return { kind: 'snapshot' };
    throw new RecoveryRefused(
      `refusing to recover ${s.cluster}: no primary has data left and there is no snapshot (no backup container with a snapshot; name a file with --snapshot)`,
    );
  }
  // The most advanced; among equals the lowest number (one that answers before one read offline).
  const best = [...survivors].sort((a, b) => ahead(b, a) || Number(b.state === 'answers') - Number(a.state === 'answers') || a.index - b.index)[0];
  return { kind: 'survivor', from: best, ahead: [] };
}

/**
 * How recover asks: 3 s per call, and no login (Status, MemberList and the read barrier need none; a login
 * needs a quorum). "Is there a quorum?" is the session's read barrier, which means the same on etcd 3.4 to 3.6.
 */
const ASK = { callTimeoutMs: 3000 };
const NO_LOGIN = { login: false };

/** One look at every primary: etcd first, Docker for those that do not answer. */
export async function survey(stack: RecoveryStack, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Survey> {
  let via: string | undefined;
  const rows = await withSession(stack.expectation.target, ASK, (s) =>
    Promise.all(
      stack.primaries.map(async (p): Promise<SurvivorRow> => {
        // Asked whether or not its Status answers: with auth, etcd 3.5.28+ and 3.6 answer Status only to a
        // known user (a certificate's name with TLS), while the barrier needs none.
        const barrier = s.readBarrier(p.endpoint, NO_LOGIN).then(
          () => {
            via ??= p.name;
            return true;
          },
          () => false, // no quorum: the linearizable read cannot be confirmed
        );
        try {
          const status = await s.status(p.endpoint, NO_LOGIN).finally(() => barrier);
          return {
            name: p.name,
            index: p.index,
            state: 'answers',
            raftIndex: Number(status.raftIndex),
            raftTerm: Number(status.raftTerm),
            revision: Number(status.revision),
            leader: status.isLeader,
          };
        } catch (err) {
          // It serves reads through a quorum, only not its Status to an unknown user: no need to read its data.
          if (await barrier) return { name: p.name, index: p.index, state: 'answers', error: errorText(err) };
          return offline(stack, p, errorText(err), opts.env);
        }
      }),
    ),
  );
  return { cluster: stack.cluster, rows, ...(via ? { quorumVia: via } : {}) };
}

/**
 * How long a resumed recovery asks again before it concludes there is no quorum: members that were gone
 * while it stopped may have just come back and be electing a leader (a few of etcd's election timeouts),
 * and until then a linearizable read fails ("no leader") although the quorum is back.
 */
const QUORUM_SETTLE_MS = 5000;

/** The primary through which a linearizable read succeeds (the cluster has a quorum), or undefined. */
export async function quorumVia(stack: RecoveryStack): Promise<string | undefined> {
  const once = () =>
    withSession(stack.expectation.target, ASK, async (s) => {
      const answers = await Promise.all(
        stack.primaries.map((p) =>
          s.readBarrier(p.endpoint, NO_LOGIN).then(
            () => p.name,
            () => undefined,
          ),
        ),
      );
      return answers.find(Boolean);
    });
  return retryUntil(once, { timeoutMs: QUORUM_SETTLE_MS, initialDelayMs: 250, maxDelayMs: 1000, retryResult: (via) => via === undefined });
}

/**
 * Throws until this primary answers as the leader of a cluster of itself alone. As root when there is a
 * password (a cluster with auth: etcd 3.5.28+ and 3.6 answer Status and MemberList only to a known user);
 * the one-member cluster has its quorum, so the login works.
 */
export async function aloneAndLeading(stack: RecoveryStack, p: StackPrimary, password?: string): Promise<void> {
  const as = { login: password !== undefined };
  await withSession(stack.expectation.target, { ...ASK, password }, async (s) => {
    const status = await s.status(p.endpoint, as);
    if (!status.isLeader) throw new Error('it does not lead yet');
    const voters = (await s.memberList(p.endpoint, true, as)).filter((m) => !m.isLearner);
    if (voters.length !== 1 || voters[0].ID !== status.memberId) throw new Error(`${voters.length} voting members listed`);
  });
}

/** A primary that does not answer: its container's state, and what its volume holds. */
async function offline(stack: RecoveryStack, p: StackPrimary, why: string, env?: NodeJS.ProcessEnv): Promise<SurvivorRow> {
  const base = { name: p.name, index: p.index };
  const docker = new DockerEngine(p.docker, env);
  try {
    const container = await docker.container(p.name);
    const { findVolume } = await import('./docker');
    const volume = await findVolume(p.volume, p.docker, env);
    if (!volume) return { ...base, state: 'lost', error: `no volume ${p.volume}` };
    const state: SurvivorState = !container ? 'volume only' : container.running ? 'silent' : 'stopped';
    try {
      const data = await readMemberData(docker, p, stack, container ? p.name : undefined);
      if (!data) return { ...base, state: 'lost', error: `volume ${p.volume} holds no etcd data` };
      return { ...base, state, ...data, ...(state === 'silent' ? { error: why } : {}) };
    } catch (err) {
      return { ...base, state: 'unreadable', error: `volume ${p.volume}: ${(err as Error).message}` };
    }
  } catch (err) {
    if (err instanceof DockerHostError) return { ...base, state: 'unreadable', error: err.message };
    throw err;
  }
}

/**
 * Progress read from a member's data directory: through its own container when it has one (running or
 * not), else through a container created on its volume and never started. Undefined for a volume without
 * etcd data.
 */
export async function readMemberData(
  docker: DockerEngine,
  p: StackPrimary,
  stack: RecoveryStack,
  container?: string,
): Promise<Pick<SurvivorRow, 'raftIndex' | 'raftTerm' | 'revision' | 'walCommit' | 'dbIndex'> | undefined> {
  let from = container;
  const reader = `${p.name}-recover-read`;
  if (!from) {
    await docker.remove(reader);
    await docker.create({
      name: reader,
      image: p.image,
      cmd: ['/usr/local/bin/etcd', '--version'],
      volume: p.volume,
      mountPath: '/var/lib/etcd',
      labels: { [LABEL_CLUSTER]: stack.cluster, [LABEL_ROLE]: 'recover' },
    });
    from = reader;
  }
  const offInterrupt = from === reader ? onInterrupt(() => docker.remove(reader)) : () => undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'etcd-recover-'));
  try {
    let walTar: Buffer;
    try {
      walTar = await docker.archive(from, `${MEMBER_DIR}/wal`);
    } catch (err) {
      if (err instanceof DockerHostError && /has no/.test(err.message)) return undefined;
      throw err;
    }
    const wal = readWal(walFilesOf(untar(walTar)));
    const dbFile = join(tmp, 'db');
    const db = untar(await docker.archive(from, `${MEMBER_DIR}/snap/db`)).find((f) => f.name.endsWith('db'));
    if (!db) throw new Error('no database file in member/snap');
    writeFileSync(dbFile, db.data);
    let info;
    try {
      info = readSnapshot(dbFile);
    } catch (err) {
      throw new Error(`member/snap/db: ${(err as Error).message.replace(`${dbFile}: `, '').replace('not an etcd snapshot', 'not an etcd database')}`);
    }
    const dbIndex = info.consistentIndex ?? 0;
    return {
      raftIndex: Math.max(wal.commit, dbIndex),
      raftTerm: Math.max(wal.term, info.term ?? 0),
      revision: info.revision,
      walCommit: wal.commit,
      ...(info.consistentIndex !== undefined ? { dbIndex } : {}),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    offInterrupt();
    if (from === reader) await docker.remove(reader);
  }
}
