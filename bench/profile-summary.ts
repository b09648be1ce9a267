/**
 * Where a `node --cpu-prof` profile's time went: self time summed by where the code lives (Node's own
 * start-up and modules, the bundled CLI, garbage collection, idle waits) and the heaviest functions.
 *
 *   npx ts-node bench/profile-summary.ts <file.cpuprofile> [--top 15]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file] = process.argv.slice(2);
const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 15;
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));

const where = (n: Node): string => {
  const { functionName: f, url } = n.callFrame;
  if (f === '(garbage collector)') return 'garbage collection';
  if (f === '(idle)') return 'idle (waiting for I/O: the cluster, the network)';
  if (f === '(program)') return 'V8 itself (compiling, parsing, start-up)';
  if (f === '(root)') return 'V8 itself (compiling, parsing, start-up)';
  if (url.startsWith('node:')) return `Node's own modules (${url.replace(/^node:/, '').split('/')[1] ?? url})`;
  if (/etcd-cluster\.js$/.test(url)) return 'the bundled CLI (dist/etcd-cluster.js: commander, zod, etcd3, gRPC, protobufjs, ours)';
  if (/bin\/cli\.js$/.test(url)) return 'the CLI loader (bin/cli.js: code cache)';
  if (url === '') return 'native and eval';
  return url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'node_modules/');
};

const total = (p.endTime - p.startTime) / 1000;
const groups = new Map<string, number>();
for (const [id, ms] of self) {
  const g = where(byId.get(id)!);
  groups.set(g, (groups.get(g) ?? 0) + ms);
}
const fmt = (ms: number) => `${ms.toFixed(1)} ms (${((100 * ms) / total).toFixed(0)} %)`;
process.stdout.write(`${file}: ${total.toFixed(1)} ms profiled\n\nby where the code lives (self time):\n`);
for (const [g, ms] of [...groups].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${fmt(ms)}  ${g}\n`);
process.stdout.write(`\nheaviest functions (self time):\n`);
for (const [id, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const n = byId.get(id)!.callFrame;
  process.stdout.write(`  ${fmt(ms)}  ${n.functionName || '(anonymous)'} ${n.url.replace(/.*\//, '')}:${n.lineNumber}\n`);
}
