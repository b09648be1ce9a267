/**
 * Reads of a live test cluster that several suites made each in their own copy: its members as etcd lists
 * them, and the Docker IDs of its containers (a container that keeps its ID was not replaced).
 */
import { LABEL_CLUSTER, LABEL_ROLE } from '../../lib/model';
import type { TestCluster } from './test-cluster';

/** Member IDs by name (a learner's ID marked ` (learner)`), as the cluster lists them through primary `via` (default: every primary). */
export async function memberIds(cluster: TestCluster, via?: number): Promise<Record<string, string>> {
  const c = via === undefined ? cluster.client() : cluster.client(cluster.topology.primaries[via].hostClientUrl);
  try {
    const { members } = await c.cluster.memberList({ linearizable: true });
    return Object.fromEntries(members.map((m) => [m.name, `${m.ID}${m.isLearner ? ' (learner)' : ''}`]));
  } finally {
    c.close();
  }
}

/** The members' names, sorted, a learner's marked ` (learner)`, as primary `via` (default 1) lists them. */
export async function memberNames(cluster: TestCluster, via = 0): Promise<string[]> {
  const c = cluster.client(cluster.topology.primaries[via].hostClientUrl);
  try {
    const { members } = await c.cluster.memberList({ linearizable: true });
    return members.map((m) => `${m.name}${m.isLearner ? ' (learner)' : ''}`).sort();
  } finally {
    c.close();
  }
}

/** The primaries' container IDs, in spec order (undefined where there is no container). */
export async function primaryContainerIds(cluster: TestCluster): Promise<string[]> {
  return Promise.all(cluster.topology.primaries.map(async (p) => (await cluster.docker.inspect('containers', p.name))?.Id as string));
}

/** The container ID of every primary and secondary, by name (undefined where there is no container). */
export async function containerIds(cluster: TestCluster): Promise<Record<string, string>> {
  const t = cluster.topology;
  const out: Record<string, string> = {};
  for (const n of [...t.primaries, ...t.secondaries]) out[n.name] = (await cluster.docker.inspect('containers', n.name))?.Id;
  return out;
}

/** The names of the containers of one role that Docker holds for this cluster, by their labels, sorted. */
export async function containersOfRole(cluster: TestCluster, role: 'primary' | 'secondary' | 'backup'): Promise<string[]> {
  const all = await cluster.docker.listByLabel('containers', `${LABEL_CLUSTER}=${cluster.name}`);
  return all
    .filter((c) => c.Labels?.[LABEL_ROLE] === role)
    .map((c) => String(c.Names[0]).replace(/^\//, ''))
    .sort();
}
