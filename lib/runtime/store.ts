/**
 * The backup store off the host (spec `backup.store`), through the backup image's own program
 * (tools/etcd-backup: `store-list`, `fetch`): in the running backup container when there is one, else in a
 * one-off container of that image on the same Docker host, with the same host files mounted. One client of
 * the store, in Go, whatever asks: the container, `etcd-cluster backups`, `recover`, a deploy from nothing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Expectation } from '../contract';
import { readSnapshot } from '../model/snapshot';
import { DockerEngine, execIn } from './docker';
import { DockerHostError, InvalidRequest, TargetExists } from './errors';
import { untarFirst } from './member-data';

type StoreOf = NonNullable<NonNullable<Expectation['backup']>['store']>;

export interface StoreFull {
  readonly name: string;
  readonly revision: number;
  readonly taken: string;
  readonly bytes: number;
}

export interface StoreDelta {
  readonly name: string;
  readonly first: number;
  readonly last: number;
  readonly from: string;
  readonly to: string;
  readonly bytes: number;
  readonly largestDeletionRevision?: number;
  readonly largestDeletionKeys?: number;
}

/** One etcd cluster's history in the store (a restored cluster starts another). */
export interface StoreLineage {
  readonly clusterId: string;
  readonly full: StoreFull[];
  readonly delta: StoreDelta[];
  readonly newest: number;
  readonly latest: string;
}

export interface StoreListing {
  readonly prefix: string;
  /** Oldest first: the last is the one with the newest object. */
  readonly lineages: StoreLineage[];
  /** The backup container's own position (when it runs): the newest revision it stored, and since when it is behind. */
  readonly status?: { readonly revision: number; readonly at: string; readonly behindSince?: string };
}

export interface FetchedPoint {
  readonly file: string;
  readonly clusterId: string;
  readonly revision: number;
  readonly full: string;
  readonly deltas: number;
  readonly deltaEvents: number;
}

const TOOL = '/usr/local/bin/etcd-backup';
const POINT_IN_CONTAINER = '/tmp/point.db';

function storeOf(e: Expectation): StoreOf {
  if (!e.backup) throw new InvalidRequest(`cluster ${e.target.cluster} has no backup container (add backup to its spec)`);
  if (!e.backup.store) throw new InvalidRequest(`cluster ${e.target.cluster} has no backup store (add backup.store to its spec)`);
  return e.backup.store;
}

/** The tool's refusal as one line: its own words without its name. */
function refusal(output: string): string {
  const lines = output.trim().split('\n');
  const line = [...lines].reverse().find((l) => l.startsWith('etcd-backup: ')) ?? lines[lines.length - 1] ?? 'no output';
  return line.replace(/^etcd-backup: /, '');
}

/** The last JSON object line of the tool's output. */
function lastJson<T>(output: string): T {
  const line = output
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new DockerHostError(`etcd-backup printed no result: ${output.trim().split('\n')[0] ?? ''}`);
  return JSON.parse(line) as T;
}

/**
 * Runs the tool in a one-off container of the backup image on the backup's Docker host (Docker's default
 * bridge, the store's host files mounted read-only), and reads `file` out of it when asked.
 */
async function oneOff(e: Expectation, args: string[], file?: string): Promise<{ code: number; output: string; data?: Buffer }> {
  const store = storeOf(e);
  const docker = new DockerEngine(e.backup!.docker);
  const name = `${e.target.cluster}-backup-oneoff-${randomBytes(3).toString('hex')}`;
  await docker.create({
    name,
    image: store.image,
    cmd: args,
    binds: store.binds,
    network: 'bridge',
    labels: { 'cdktf-etcd-cluster.cluster': e.target.cluster, 'cdktf-etcd-cluster.role': 'backup-oneoff' },
  });
  try {
    await docker.start(name);
    const code = await docker.wait(name, 1_800_000);
    const output = await docker.logs(name, 50);
    const data = code === 0 && file ? untarFirst(await docker.archive(name, file)) : undefined;
    return { code, output, data };
  } finally {
    await docker.remove(name);
  }
}

/** What the store holds for the cluster: its lineages, and the backup container's position when it runs. */
export async function listStore(e: Expectation): Promise<StoreListing> {
  const store = storeOf(e);
  const args = ['store-list', ...store.args];
  const running = await new DockerEngine(e.backup!.docker).container(e.backup!.container);
  if (running?.running) {
    const r = await execIn(e.backup!.container, [TOOL, ...args, '--dir=/backups'], e.backup!.docker);
    if (r.exitCode !== 0) throw new InvalidRequest(`backup store: ${refusal(r.stderr || r.stdout)}`);
    return lastJson<StoreListing>(r.stdout);
  }
  const r = await oneOff(e, args);
  if (r.code !== 0) throw new InvalidRequest(`backup store: ${refusal(r.output)}`);
  return lastJson<StoreListing>(r.output);
}

/**
 * Writes a point of the store (the newest, or a revision or time; of the newest lineage unless one is named)
 * to `file` as a snapshot, through a temporary file checked as a snapshot before it is renamed.
 */
export async function fetchPoint(
  e: Expectation,
  file: string,
  point: { revision?: number; time?: string; clusterId?: string; force?: boolean },
): Promise<FetchedPoint> {
  storeOf(e);
  if (existsSync(file) && !point.force) throw new TargetExists(`${file} exists already; choose another file, or pass --force to replace it`);
  const args = [
    'fetch',
    ...e.backup!.store!.args,
    `--out=${POINT_IN_CONTAINER}`,
    ...(point.revision !== undefined ? [`--revision=${point.revision}`] : []),
    ...(point.time ? [`--time=${point.time}`] : []),
    ...(point.clusterId ? [`--cluster-id=${point.clusterId}`] : []),
  ];
  const r = await oneOff(e, args, POINT_IN_CONTAINER);
  if (r.code !== 0 || !r.data) throw new InvalidRequest(`backup store: ${refusal(r.output)}`);
  const result = lastJson<FetchedPoint>(r.output);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.part`;
  try {
    writeFileSync(tmp, r.data, { mode: 0o600 });
    const info = readSnapshot(tmp);
    // Its newest key is at most the point (a point after deletions has no key at its own revision).
    if (info.revision > result.revision) {
      throw new DockerHostError(`the fetched snapshot holds revision ${info.revision}, past ${result.revision} as etcd-backup said`);
    }
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { ...result, file };
}
