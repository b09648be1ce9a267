/**
 * One synthesis in a fresh process, so that peak memory belongs to it alone.
 * Prints JSON: { secondaries, ms, maxRssMiB, resources }.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { EtcdClusterStack } from '../stacks/etcd-cluster-stack';

const secondaries = Number(process.argv[2]);
const outdir = mkdtempSync(join(tmpdir(), 'bench-synth-'));
const started = process.hrtime.bigint();
const app = new App({ outdir });
const stack = new EtcdClusterStack(app, { cluster: { name: 'bench', primaries: 3, secondaries, ports: { primaryBase: 20000, secondaryBase: 30000 } } });
app.synth();
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const resources = Object.values(
  (JSON.parse(readFileSync(join(outdir, 'stacks', 'bench', 'cdk.tf.json'), 'utf8')).resource ?? {}) as Record<string, object>,
).reduce((n, byName) => n + Object.keys(byName).length, 0);
rmSync(outdir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ secondaries, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, resources, stack: stack.node.id }) + '\n');
