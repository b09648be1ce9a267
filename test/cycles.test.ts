/**
 * No import cycles in the library's sources (README, "Architecture": each step only looks one step back).
 * Imports are read with TypeScript's own pre-processor, type-only imports and re-exports included: a cycle
 * of types alone still ties two modules together.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from './helpers/synth';

/** Every .ts file under these roots (files or directories), as absolute paths. */
function sourcesUnder(roots: string[]): string[] {
  const walk = (p: string): string[] =>
    statSync(p).isDirectory() ? readdirSync(p).flatMap((f) => walk(join(p, f))) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  return roots.map((r) => join(REPO_ROOT, r)).flatMap(walk);
}

/** The module graph: each file and the files of this repository it imports. */
function importGraph(files: string[]): Map<string, string[]> {
  const resolveLocal = (from: string, spec: string): string | undefined => {
    if (!spec.startsWith('.')) return undefined;
    const base = resolve(dirname(from), spec);
    return [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
  };
  return new Map(
    files.map((f) => {
      const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
      const targets = info.importedFiles.map((i) => resolveLocal(f, i.fileName)).filter((t): t is string => t !== undefined);
      return [f, [...new Set(targets)]];
    }),
  );
}

/** Every cycle of a graph, once each, as the list of its nodes from its smallest one. */
export function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = path.slice(path.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(' -> '), rotated);
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return [...cycles.values()];
}

test('no import cycle among the library and its entry points', () => {
  const graph = importGraph(sourcesUnder(['lib', 'constructs', 'stacks', 'index.ts', 'main.ts']));
  expect(graph.size).toBeGreaterThan(40);
  const readable = cyclesOf(graph).map((c) => [...c, c[0]].map((f) => relative(REPO_ROOT, f)).join(' -> '));
  expect(readable).toEqual([]);
});

test('the check finds a cycle, type-only imports included (it can fail)', () => {
  const a = join(REPO_ROOT, 'a.ts');
  const b = join(REPO_ROOT, 'b.ts');
  const c = join(REPO_ROOT, 'c.ts');
  expect(
    cyclesOf(
      new Map([
        [a, [b]],
        [b, [c]],
        [c, [a]],
      ]),
    ),
  ).toEqual([[a, b, c]]);
  expect(
    cyclesOf(
      new Map([
        [a, [b]],
        [b, [c]],
        [c, []],
      ]),
    ),
  ).toEqual([]);
  // What the reader sees in `import type { X } from './b'`.
  const info = ts.preProcessFile("import type { X } from './b';\nexport * from './c';\n", true, true);
  expect(info.importedFiles.map((i) => i.fileName)).toEqual(['./b', './c']);
});
