/**
 * The folders keep their lifecycles apart (README, "Architecture"): loading a module must not load what its
 * layer may not use. Checked on the compiled package, in a fresh Node process each.
 */
import { join } from 'node:path';
import { REPO_ROOT, run } from './helpers/synth';

/** The node_modules packages a compiled module loads, in a process of its own. */
async function packagesLoadedBy(module: string): Promise<string[]> {
  const script = `require(${JSON.stringify(join(REPO_ROOT, 'dist', module))});
    const names = new Set(Object.keys(require.cache).map((f) => (/node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f) || [])[1]).filter(Boolean));
    process.stdout.write(JSON.stringify([...names].sort()));`;
  const r = await run(process.execPath, ['-e', script]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[];
}

test.each([
  { what: 'the model', module: 'lib/model', forbidden: ['cdktf', 'constructs', 'etcd3', '@grpc/grpc-js', 'commander'] },
  { what: 'the contract', module: 'lib/contract', forbidden: ['cdktf', 'constructs', 'etcd3', '@grpc/grpc-js', 'yaml'] },
  { what: 'the constructs', module: 'constructs', forbidden: ['etcd3', '@grpc/grpc-js', 'commander', '@peculiar/x509'] },
  { what: 'the CLI, before a command runs', module: 'lib/cli', forbidden: ['etcd3', '@grpc/grpc-js', 'cdktf', '@peculiar/x509'] },
])('$what ($module) loads none of $forbidden', async ({ module, forbidden }) => {
  const loaded = await packagesLoadedBy(module);
  expect(loaded.length).toBeGreaterThan(0);
  expect(loaded.filter((p) => forbidden.includes(p))).toEqual([]);
});

test('the runtime does load the etcd client (the check above can fail)', async () => {
  expect(await packagesLoadedBy('lib/runtime/verify')).toContain('etcd3');
});
