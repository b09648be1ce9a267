/**
 * The cdktf app of this repository: one stack built from the spec file (`cluster.yaml`, or the file
 * named by ETCD_CLUSTER_CONFIG). A bad spec, or bad certificates, print one line and exit 1 with nothing
 * written.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdktf';
import { loadSpecFile, SpecError, specPathFromEnv } from './lib/model';
import { EtcdClusterStack } from './stacks/etcd-cluster-stack';

function fail(e: unknown): never {
  if (!(e instanceof SpecError)) throw e;
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(1);
}

function main(): void {
  let spec;
  try {
    spec = loadSpecFile(specPathFromEnv());
  } catch (e) {
    fail(e);
  }
  // Certificates are checked while the stack is built, and creating the App already makes its output
  // directories: remove what this run created if building fails.
  const outdir = process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  const created = [outdir, join(outdir, 'stacks')].filter((d) => !existsSync(d));
  // No cdktf validations: the one that applies here (the Terraform version) runs `terraform version` once per
  // terraform_data resource, and the stack's required_version (>= 1.9.0) already makes Terraform refuse an
  // older release. No construct stack traces in the metadata either; neither reaches the synthesized JSON.
  const app = new App({ skipValidation: true, stackTraces: false });
  try {
    new EtcdClusterStack(app, { cluster: spec });
  } catch (e) {
    for (const d of created.reverse()) rmSync(d, { recursive: true, force: true });
    fail(e);
  }
  app.synth();
}

main();
