/**
 * Before any suite: check the Docker engine, Terraform and the Docker provider in its local mirror (in CI
 * a missing one fails the run; elsewhere the integration suites are skipped with one line), and remove
 * what crashed earlier test runs left behind.
 */
import { LABEL_CLUSTER } from '../../lib/model';
import { DockerApi } from './docker-api';
import { ownedByLiveRun, SKIP_ENV, TEST_IMAGE, TEST_NAME_PREFIX } from './env';
import { SimHosts } from './sim-hosts';
import { missingTerraform } from './terraform-check';

export default async function globalSetup(): Promise<void> {
  const docker = new DockerApi();
  const up = await docker.ping();
  const image = up ? await docker.inspect('images', TEST_IMAGE) : undefined;
  const noTerraform = await missingTerraform();
  if (!up || !image || noTerraform) {
    const reason = !up ? `no Docker engine answers at ${docker.socketPath}` : !image ? `image ${TEST_IMAGE} is missing` : noTerraform!;
    if (process.env.CI)
      throw new Error(
        `integration tests need the Docker engine, the etcd image, Terraform and the Docker provider (CI=true): ${reason}; run scripts/prepare-machine.sh`,
      );
    process.env[SKIP_ENV] = reason;
    process.stderr.write(`\nSKIPPING the integration suites: ${reason} (run scripts/prepare-machine.sh)\n`);
    return;
  }
  // Leftovers of earlier runs: containers restart with dockerd and would hold their ports.
  // A test cluster of a run that has ended; those of runs still going (another checkout's) are left alone.
  const leftover = (labels: Record<string, string> | null | undefined) => {
    const cluster = labels?.[LABEL_CLUSTER] ?? '';
    return cluster.startsWith(TEST_NAME_PREFIX) && !ownedByLiveRun(cluster);
  };
  const containers = (await docker.listByLabel('containers', LABEL_CLUSTER)).filter((c) => leftover(c.Labels));
  for (const c of containers) await docker.removeContainer(c.Id).catch((e) => process.stderr.write(`sweep: ${(e as Error).message}\n`));
  for (const v of (await docker.listByLabel('volumes', LABEL_CLUSTER)).filter((x) => leftover(x.Labels))) await docker.removeVolume(v.Name);
  for (const n of (await docker.listByLabel('networks', LABEL_CLUSTER)).filter((x) => leftover(x.Labels))) await docker.removeNetwork(n.Id);
  if (containers.length) process.stderr.write(`\nremoved ${containers.length} containers left by earlier test runs\n`);
  // Simulated hosts of a crashed multi-host run: their daemons, namespaces and bridge.
  await SimHosts.sweep();
}
