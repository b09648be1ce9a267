/**
 * `etcdutl check v2store` on every primary's data, before etcd 3.5 -> 3.6: etcd 3.6 does not start on a
 * data directory whose v2 store (or WAL) holds custom v2 data ("detected disallowed custom content in v2store
 * for stage --v2-deprecation=write-only", measured with 3.6.16), so a rollout would stop at its first member.
 *
 * How it runs (measured on 3.5.35 and 3.6.16, see the README's "Upgrading"): in a one-off container of the
 * image the member runs now (etcdutl 3.6 has no `check` command; the member's 3.5, at least the 3.5.26 the
 * hop needs, has it), with no network and the member's volume mounted read-only, while the member keeps
 * running. etcdutl opens the WAL for reading without its lock, and a read-only mount keeps it from changing
 * anything: with write access it would rename a snapshot file it fails to read (one etcd is writing at that
 * moment) to `.broken`, and remove temporary files of a snapshot being received. An etcd v3 snapshot
 * (`snapshot save`) does not hold the v2 store, so it cannot be checked instead.
 */
import type { DockerHost } from '../contract';
import { DATA_DIR, DATA_MOUNT, LABEL_CLUSTER, LABEL_ROLE } from '../model/topology/types';
import { DockerEngine } from './docker';

/** The member to check: its name (also its container's), its data volume, and its Docker host (null: the default one). */
export interface V2StoreMember {
  readonly cluster: string;
  readonly name: string;
  readonly volume: string | null;
  readonly docker: DockerHost | null;
}

export interface V2StoreResult {
  readonly member: string;
  /** `clean`: no custom v2 data; `custom`: etcdutl found some; `failed`: the check could not run; `skipped`: no container to take the image from. */
  readonly verdict: 'clean' | 'custom' | 'failed' | 'skipped';
  /** etcdutl's own line (`detected custom content in v2store`), or why the check could not run. */
  readonly reason: string;
}

const ETCDUTL = '/usr/local/bin/etcdutl';

/** etcdutl's verdict from its exit code and output ("Error: detected custom ..." on stderr, exit 1). */
export function verdictOf(exitCode: number, output: string): Pick<V2StoreResult, 'verdict' | 'reason'> {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (exitCode === 0) return { verdict: 'clean', reason: lines.at(-1) ?? 'no custom content' };
  const error = lines.find((l) => l.startsWith('Error:'))?.replace(/^Error:\s*/, '') ?? lines.at(-1) ?? `exit code ${exitCode}`;
  return /custom (v2 )?content/.test(error) ? { verdict: 'custom', reason: error } : { verdict: 'failed', reason: `${error} (exit code ${exitCode})` };
}

/** Checks one member's data: read-only, in a one-off container of the image it runs, removed afterwards. */
export async function checkMemberV2Store(m: V2StoreMember, env: NodeJS.ProcessEnv = process.env): Promise<V2StoreResult> {
  const docker = new DockerEngine(m.docker, env);
  const name = `${m.name}-v2store-check`;
  try {
    if (!m.volume) return { member: m.name, verdict: 'failed', reason: 'its data volume is not recorded in this stack (synthesize it with this release)' };
    const c = await docker.container(m.name);
    if (!c) return { member: m.name, verdict: 'skipped', reason: 'it has no container to take the image from' };
    await docker.remove(name);
    await docker.create({
      name,
      image: c.image,
      entrypoint: ETCDUTL,
      cmd: ['check', 'v2store', '--data-dir', DATA_DIR],
      volume: m.volume,
      mountPath: DATA_MOUNT,
      readOnly: true,
      labels: { [LABEL_CLUSTER]: m.cluster, [LABEL_ROLE]: 'v2store-check' },
    });
    try {
      await docker.start(name);
      const code = await docker.wait(name);
      return { member: m.name, ...verdictOf(code, await docker.logs(name, 50)) };
    } finally {
      await docker.remove(name).catch(() => undefined);
    }
  } catch (e) {
    return { member: m.name, verdict: 'failed', reason: (e as Error).message };
  }
}

/** Checks every member's data, all at once (each a short-lived container on its own host). */
export function checkV2Store(members: readonly V2StoreMember[], env: NodeJS.ProcessEnv = process.env): Promise<V2StoreResult[]> {
  return Promise.all(members.map((m) => checkMemberV2Store(m, env)));
}

/**
 * Why the upgrade must not go ahead, from the members' results (custom data first, then a check that could
 * not run); undefined when every member that has a container is clean and at least one was checked.
 */
export function v2StoreProblem(cluster: string, from: string, to: string, results: readonly V2StoreResult[]): string | undefined {
  const head = `refusing to upgrade ${cluster} from etcd ${from} to ${to}`;
  const custom = results.find((r) => r.verdict === 'custom');
  if (custom)
    return `${head}: etcdutl check v2store on ${custom.member}'s data: ${custom.reason}; etcd 3.6 does not start on custom v2 data: remove it first (etcd's 3.5 -> 3.6 upgrade guide, "V2 Store")`;
  const failed = results.find((r) => r.verdict === 'failed');
  if (failed)
    return `${head}: etcdutl check v2store could not run on ${failed.member}'s data: ${failed.reason}; run it yourself (etcdutl 3.5.26 or later, on the stopped member's data directory or a copy) and, if it finds no custom content, run rollout again with --skip-v2store-check`;
  if (!results.some((r) => r.verdict === 'clean'))
    return `${head}: etcdutl check v2store could not run on any primary's data (${results.map((r) => `${r.member}: ${r.reason}`).join('; ')})`;
  return undefined;
}
