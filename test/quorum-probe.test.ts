/**
 * Issue 33: "is there a quorum?" must mean the same on every etcd we accept. Run against real etcd 3.4.23
 * processes (Debian's binaries, which scripts/prepare-machine.sh installs for the image of that version) on
 * loopback ports from the harness: a three-member cluster loses two members (SIGKILL), and the survivor
 * alone is asked. etcd 3.4 drops MemberList's `linearizable` field (it arrived in 3.5) and answers from its
 * own memory, so the old probe said "quorum"; the session's read barrier (a linearizable Range) does not.
 * A one-member cluster with authentication on is asked without a login: the barrier still sees its quorum.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../lib/runtime/etcd-client';
import type { RecoveryStack } from '../lib/runtime/recover-stack';
import { ClusterSession } from '../lib/runtime/session';
import { quorumVia } from '../lib/runtime/survivors';
import { freePortRange } from './harness/env';
import { eventually } from './harness/test-cluster';

jest.setTimeout(120_000);

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';

/** Local etcd 3.4.23 members on loopback, each in a data directory of its own; killed and removed at the end. */
class LocalCluster {
  private readonly procs = new Map<string, ChildProcess>();
  private constructor(
    readonly dir: string,
    readonly members: { name: string; client: string; peer: string }[],
  ) {}

  static async start(size: number, tag: string): Promise<LocalCluster> {
    for (const bin of [ETCD, ETCDCTL]) {
      if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/prepare-machine.sh (it installs Debian's etcd 3.4.23)`);
    }
    const base = await freePortRange(size * 2);
    const members = Array.from({ length: size }, (_, i) => ({
      name: `${tag}-${i + 1}`,
      client: `http://127.0.0.1:${base + 2 * i}`,
      peer: `http://127.0.0.1:${base + 2 * i + 1}`,
    }));
    const c = new LocalCluster(mkdtempSync(join(tmpdir(), `etcd34-${tag}-`)), members);
    const initial = members.map((m) => `${m.name}=${m.peer}`).join(',');
    for (const m of members) {
      const proc = spawn(
        ETCD,
        [
          `--name=${m.name}`,
          `--data-dir=${join(c.dir, m.name)}`,
          `--listen-client-urls=${m.client}`,
          `--advertise-client-urls=${m.client}`,
          `--listen-peer-urls=${m.peer}`,
          `--initial-advertise-peer-urls=${m.peer}`,
          `--initial-cluster=${initial}`,
          `--initial-cluster-token=${tag}-${base}`,
          '--initial-cluster-state=new',
          '--heartbeat-interval=100',
          '--election-timeout=1000',
        ],
        { stdio: 'ignore' },
      );
      c.procs.set(m.name, proc);
    }
    return c;
  }

  /** The cluster's target, as a session and the recovery's quorum probe take it. */
  target(auth = false) {
    return {
      cluster: 'local34',
      primaries: this.members.map((m, i) => ({ name: m.name, index: i + 1, endpoint: m.client })),
      tls: null,
      auth: auth ? { user: 'root' as const, passwordEnv: 'UNUSED' } : null,
    };
  }

  etcdctl(...args: string[]): string {
    const r = spawnSync(ETCDCTL, [`--endpoints=${this.members[0].client}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  kill(name: string): void {
    this.procs.get(name)?.kill('SIGKILL');
  }

  stop(): void {
    for (const p of this.procs.values()) p.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('the quorum probe on etcd 3.4.23', () => {
  let three: LocalCluster;

  beforeAll(async () => {
    three = await LocalCluster.start(3, 'q3');
  });
  afterAll(() => three?.stop());

  test('a lone survivor of three: MemberList with `linearizable` still answers (3.4 ignores the field), the read barrier does not', async () => {
    const [m1, m2, m3] = three.members;
    // The cluster works first: a write is committed, and the barrier passes on the member that will survive.
    await eventually(async () => three.etcdctl('put', '/it/q3', 'before'), 30_000);
    const session = new ClusterSession(three.target(), { callTimeoutMs: 2000 });
    try {
      await eventually(() => session.readBarrier(m1.client), 10_000);
      three.kill(m2.name);
      three.kill(m3.name);

      // What the old probe asked: the field is dropped, and the lone member answers from its own memory.
      const raw = connect(m1.client, { timeoutMs: 2000 });
      try {
        await eventually(async () => {
          const r = await raw.cluster.memberList({ linearizable: true });
          expect(r.members.map((m) => m.name).sort()).toEqual([m1.name, m2.name, m3.name]);
        }, 10_000);
      } finally {
        raw.close();
      }
      // The status answers too (it needs no quorum): the member is up, only the quorum is gone.
      expect((await session.status(m1.client)).memberId).toBeTruthy();
      // The barrier fails, now and after its leadership (if it led) has timed out.
      await expect(session.readBarrier(m1.client)).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 2500));
      await expect(session.readBarrier(m1.client)).rejects.toThrow();
      // So linearizable member lists fail as well, as they do on 3.5 and later.
      await expect(session.memberList(m1.client, true)).rejects.toThrow();
    } finally {
      session.close();
    }
    // The recovery's probe (with its 5 s of settling) finds no quorum.
    const stack = { cluster: 'local34', primaries: three.target().primaries, expectation: { target: three.target() } } as unknown as RecoveryStack;
    expect(await quorumVia(stack)).toBeUndefined();
  });
});

describe('the quorum probe on etcd 3.4.23 with authentication on', () => {
  let one: LocalCluster;

  beforeAll(async () => {
    one = await LocalCluster.start(1, 'qa');
    await eventually(async () => one.etcdctl('put', '/it/qa', 'before'), 30_000);
    one.etcdctl('user', 'add', 'root:qa-secret');
    one.etcdctl('auth', 'enable');
  });
  afterAll(() => one?.stop());

  test('asked without a login, an anonymous read is refused after the ReadIndex: the barrier passes, the probe finds the quorum', async () => {
    const m = one.members[0];
    const anonymous = connect(m.client, { timeoutMs: 2000 });
    try {
      // Anonymous reads are refused (auth is on) ...
      await expect(anonymous.get('/it/qa').string()).rejects.toThrow(/user name is empty/);
    } finally {
      anonymous.close();
    }
    // ... and the barrier, which logs in as nobody, still sees the quorum of this one-member cluster.
    const session = new ClusterSession(one.target(true), { callTimeoutMs: 2000 });
    try {
      await session.readBarrier(m.client, { login: false });
      expect((await session.memberList(m.client, true, { login: false })).map((x) => x.name)).toEqual([m.name]);
    } finally {
      session.close();
    }
    const stack = { cluster: 'local34', primaries: one.target(true).primaries, expectation: { target: one.target(true) } } as unknown as RecoveryStack;
    expect(await quorumVia(stack)).toBe(m.name);
  });
});
