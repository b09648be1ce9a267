/**
 * The cdktf app of this repository: one stack built from the spec file (`cluster.yaml`, or the file
 * named by ETCD_CLUSTER_CONFIG). A bad spec prints one line and exits 1 before anything is written.
 */
import { App } from 'cdktf';
import { loadSpecFile, SpecError, specPathFromEnv } from './lib/spec';
import { EtcdClusterStack } from './stacks/etcd-cluster-stack';

function main(): void {
  let spec;
  try {
    spec = loadSpecFile(specPathFromEnv());
  } catch (e) {
    if (e instanceof SpecError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const app = new App();
  new EtcdClusterStack(app, { cluster: spec });
  app.synth();
}

main();
