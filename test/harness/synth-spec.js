#!/usr/bin/env node
// `node test/harness/synth-spec.js <spec file> <dir>`: synthesizes the repository's stack from a spec file
// into a test deployment's Terraform working directory, as the integration suites hold one (cdk.tf.json
// without cdktf's local backend, so that the state stays there; the assets beside it). It is the `--synth`
// command the recover suite gives `etcd-cluster recover`, which changes the spec and then has the stack
// synthesized again, as `cdktf synth` does in a user's project. Uses the built package (dist/).
'use strict';
const { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { App } = require('cdktf');
const { loadSpecFile } = require('../../dist/lib/model');
const { EtcdClusterStack } = require('../../dist/stacks/etcd-cluster-stack');

const [specFile, dir] = process.argv.slice(2).map((p) => resolve(p));
const spec = loadSpecFile(specFile);
const outdir = mkdtempSync(join(dir, '.synth-'));
try {
  const app = new App({ outdir, stackTraces: false, skipValidation: true });
  new EtcdClusterStack(app, { cluster: spec });
  app.synth();
  const stackDir = join(outdir, 'stacks', spec.name);
  const tf = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8'));
  delete tf.terraform.backend;
  rmSync(join(dir, 'assets'), { recursive: true, force: true });
  if (existsSync(join(stackDir, 'assets'))) cpSync(join(stackDir, 'assets'), join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(tf, null, 2));
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
