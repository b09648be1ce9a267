/**
 * The cdktf app of this repository: one stack built from the spec file (`cluster.yaml`, or the file
 * named by ETCD_CLUSTER_CONFIG). A bad spec, or bad certificates, print one line and exit 1 before
 * anything is written.
 */
import { App } from 'cdktf';
import { loadSpecFile, SpecError, specPathFromEnv } from './lib/spec';
import { EtcdClusterStack } from './stacks/etcd-cluster-stack';

function main(): void {
  const app = new App();
  try {
    new EtcdClusterStack(app, { cluster: loadSpecFile(specPathFromEnv()) });
  } catch (e) {
    if (e instanceof SpecError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  app.synth();
}

main();
