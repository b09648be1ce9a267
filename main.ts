/**
 * The cdktf app of this repository: one stack built from the spec file (`cluster.yaml`, or the file
 * named by ETCD_CLUSTER_CONFIG). A bad spec, or bad certificates, print one line and exit 1 with nothing
 * written.
 *
 * Its Terraform state is `terraform.<stack>.tfstate` in the directory cdktf runs in (this checkout), where
 * cdktf's default local backend keeps it too; but the backend names it relative to the stack directory
 * (`../../../terraform.<stack>.tfstate` from `cdktf.out/stacks/<stack>`, where Terraform runs) rather than by
 * an absolute path: the synthesized JSON holds no path of this machine, a moved or second checkout finds
 * its own state, and `cdktf synth`, which rewrites cdktf.out, never touches it.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { App, LocalBackend } from 'cdktf';
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
    const stack = new EtcdClusterStack(app, { cluster: spec });
    const state = resolve(`terraform.${stack.node.id}.tfstate`);
    new LocalBackend(stack, { path: relative(resolve(outdir, 'stacks', stack.node.id), state) });
  } catch (e) {
    for (const d of created.reverse()) rmSync(d, { recursive: true, force: true });
    fail(e);
  }
  app.synth();
}

main();
