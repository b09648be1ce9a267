/**
 * What the integration suites share: the Docker engine check, names and ports that cannot collide with
 * another run, and the locally built etcd image.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../lib/model/defaults';
import { DockerApi } from './docker-api';

/** The etcd release users deploy by default (the spec's image is 3.6.16), built by scripts/prepare-machine.sh. */
export const TEST_IMAGE = process.env.ETCD_TEST_IMAGE ?? 'cdktf-etcd-cluster/etcd:3.6.16-local';
/** Debian's etcd 3.4.23, for upgrades from 3.4 (end of life). */
export const ETCD_34_IMAGE = 'cdktf-etcd-cluster/etcd:3.4.23-local';
/** The newest etcd 3.5 patch the Go module proxy serves (and that builds here): the hop before 3.6. */
export const ETCD_35_IMAGE = 'cdktf-etcd-cluster/etcd:3.5.35-local';
/** etcd 3.5.21, the default image of 0.2.0 and earlier: below the 3.5.26 that 3.5 -> 3.6 needs. */
export const ETCD_3521_IMAGE = 'cdktf-etcd-cluster/etcd:3.5.21-local';
/** etcd 3.6.16, the default image, by its own tag (`TEST_IMAGE` may be overridden). */
export const ETCD_36_IMAGE = 'cdktf-etcd-cluster/etcd:3.6.16-local';
/** Cluster names of test runs start with this, so that a sweep can find leftovers of crashed runs. */
export const TEST_NAME_PREFIX = 'it';
/** Set by the global setup when there is no engine outside CI: the integration suites are then skipped. */
export const SKIP_ENV = 'CDKTF_ETCD_IT_SKIP';

/** A short tag unique to this process: names of clusters it creates carry it. */
export const RUN_TAG = `${(Date.now() % 36 ** 5).toString(36).padStart(5, '0')}${(process.pid % 36 ** 2).toString(36).padStart(2, '0')}`;

/** Where running test processes say which run tag is theirs, so that a sweep spares clusters of live runs. */
const RUNS_DIR = join(tmpdir(), 'cdktf-etcd-cluster-runs');

/** A cluster name unique to this run; benchmarks pass their own prefix so that a test run never sweeps them. */
export function clusterName(suffix: string, prefix = TEST_NAME_PREFIX): string {
  const name = `${prefix}${RUN_TAG}-${suffix}`;
  if (name.length > 40) throw new Error(`test cluster name too long: ${name}`);
  mkdirSync(RUNS_DIR, { recursive: true });
  writeFileSync(join(RUNS_DIR, RUN_TAG), String(process.pid));
  return name;
}

/** Whether a cluster of this name belongs to a test process that is still running (in this checkout or another). */
export function ownedByLiveRun(cluster: string, prefix = TEST_NAME_PREFIX): boolean {
  const tag = cluster.slice(prefix.length, prefix.length + RUN_TAG.length);
  try {
    process.kill(Number(readFileSync(join(RUNS_DIR, tag), 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

export function dockerSkipReason(): string | undefined {
  return process.env[SKIP_ENV];
}

/**
 * The default host ports of a cluster and of its metrics, kept free of test clusters: the deploy test of the
 * repository's own cluster.yaml publishes the former, the production suite the latter (each with room for
 * 9 primaries and some hundred secondaries).
 */
const DEFAULT_PORTS = [Math.min(DEFAULTS.primaryBase, DEFAULTS.metricsPrimaryBase), Math.max(DEFAULTS.secondaryBase, DEFAULTS.metricsSecondaryBase) + 300];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The lowest port the kernel hands out as a connection's source port (Linux default 32768). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // Not Linux: keep the Linux default.
  }
  return 32768;
}

/** Test ports are drawn from here up to the ephemeral range. */
export const LOWEST_TEST_PORT = 10000;

/**
 * Where test processes on this machine claim what they draw (subnets, port runs), one file per claim holding
 * the owner's pid. A draw that only looks whether a port is free, or that follows a hash of the run's tag,
 * can hand two runs the same thing when both draw before either uses it; a claim cannot.
 */
const LOCK_DIR = join(tmpdir(), 'cdktf-etcd-it-locks');
const heldLocks = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims `name` for this process: true when it is ours (now or already), false when a live process holds it.
 * A claim whose owner is gone (a crashed run) is taken over. Claims go when the process exits.
 */
export function claim(name: string): boolean {
  const file = join(LOCK_DIR, name);
  if (heldLocks.has(file)) return true;
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      if (heldLocks.size === 0) process.once('exit', releaseClaims);
      heldLocks.add(file);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(file, 'utf8').trim());
    } catch {
      continue; // released meanwhile: try again
    }
    // An empty file is a claim being written this moment: held.
    if (!Number.isInteger(owner) || owner <= 0 || pidAlive(owner)) return false;
    try {
      // Stale. Remove it only if it is still the dead owner's (another run may have taken it over already).
      if (readFileSync(file, 'utf8').trim() === String(owner)) unlinkSync(file);
    } catch {
      // Gone already.
    }
  }
  return false;
}

function releaseClaims(): void {
  for (const file of heldLocks) {
    try {
      unlinkSync(file);
    } catch {
      // Gone already.
    }
  }
  heldLocks.clear();
}

/**
 * A run of `count` consecutive free loopback ports, from a random base so that parallel workers and
 * leftover containers (which keep their ports across engine restarts) do not collide. Below the kernel's
 * ephemeral range: a test stops and starts containers, and while one is stopped any outgoing connection of
 * this machine could take its published port as a source port, so that the restart fails with "address
 * already in use" (seen in CI with a port drawn from 20000-60000).
 */
export async function freePortRange(count: number): Promise<number> {
  const ephemeral = ephemeralLow();
  const top = ephemeral - count;
  if (top <= LOWEST_TEST_PORT) throw new Error(`no room for ${count} test ports below the ephemeral range (${ephemeral})`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOWEST_TEST_PORT + Math.floor(Math.random() * (top - LOWEST_TEST_PORT));
    if (base + count > DEFAULT_PORTS[0] && base < DEFAULT_PORTS[1]) continue;
    // Claimed port by port, so that two runs drawing at the same moment cannot both take one; a port that is
    // claimed by a live run, or bound by anything, sends the draw elsewhere.
    const claimed: number[] = [];
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      ok = claim(`port-${p}`);
      if (ok) claimed.push(p);
    }
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
    for (const p of claimed) release(`port-${p}`);
  }
  throw new Error(`no ${count} consecutive free ports found on 127.0.0.1`);
}

/** Gives back a claim of this process before it exits. */
function release(name: string): void {
  const file = join(LOCK_DIR, name);
  if (!heldLocks.delete(file)) return;
  try {
    unlinkSync(file);
  } catch {
    // Gone already.
  }
}

/**
 * Blocks of four /24s for tests that set `network.subnet`, from 10.214.0.0/16 (up to 10.214.247.0; the
 * synth-only specs name 10.214.250.0/24) and 10.215.0.0/16: outside Docker's default address pools
 * (172.17-31.0.0/16, 192.168.0.0/16), so that networks Docker allocates for other suites running at the same
 * time never take them (a fixed 172.29.71.0/24 failed CI with "Pool overlaps"), and apart from the simulated
 * hosts' 10.213.0.0/16.
 */
const SUBNET_BLOCKS = 62 + 64;
let subnetBlock: number | undefined;

/**
 * A /24 for a test that sets `network.subnet`; `k` picks one of a test's several subnets. The process claims
 * one block of four (see `claim`), starting from where its run's tag points, so that two runs on one machine
 * never hold the same subnet at once (the tag alone picked 1 of 63 blocks).
 */
export function testSubnet(k: number): string {
  if (!Number.isInteger(k) || k < 0 || k > 3) throw new Error(`testSubnet: k must be 0..3 (got ${k})`);
  if (subnetBlock === undefined) {
    const start = tagHash(RUN_TAG, SUBNET_BLOCKS);
    for (let i = 0; i < SUBNET_BLOCKS && subnetBlock === undefined; i++) {
      const block = (start + i) % SUBNET_BLOCKS;
      if (claim(`subnet-${block}`)) subnetBlock = block;
    }
    if (subnetBlock === undefined) throw new Error(`testSubnet: all ${SUBNET_BLOCKS} subnet blocks are claimed by live test runs (${LOCK_DIR})`);
  }
  const [second, index] = subnetBlock < 62 ? [214, subnetBlock] : [215, subnetBlock - 62];
  return `10.${second}.${index * 4 + k}.0/24`;
}

/** A number below `modulo` that follows a run tag: subnets of test networks and simulated hosts are chosen by it. */
export function tagHash(tag: string, modulo: number): number {
  return [...tag].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % modulo, 7);
}

export async function requireEngine(): Promise<DockerApi> {
  const docker = new DockerApi();
  if (!(await docker.ping())) throw new Error(`no Docker engine answers at ${docker.socketPath}: run scripts/prepare-machine.sh`);
  const image = await docker.inspect('images', TEST_IMAGE);
  if (!image) throw new Error(`image ${TEST_IMAGE} is missing: run scripts/prepare-machine.sh`);
  return docker;
}
