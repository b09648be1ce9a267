/**
 * Issue 35: the layering of the README's "Architecture" table and the 400-line limit are lint rules
 * (eslint.config.mjs), not sentences. Each rule is shown to fail on a file that breaks it, and to pass on the
 * same file without the break, through ESLint's own API with the repository's configuration.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, run } from './helpers/synth';

jest.setTimeout(120_000);

/**
 * Lints each [path, code] as if the code were the file at that path, with the repository's configuration,
 * in one Node process (ESLint loads its .mjs configuration through a dynamic import, which jest's module
 * system does not run); returns the messages of the rules this test is about, per case.
 */
async function lintAll(cases: [string, string][]): Promise<string[][]> {
  const file = join(mkdtempSync(join(tmpdir(), 'lint-rules-')), 'cases.json');
  writeFileSync(file, JSON.stringify(cases.map(([path, code]) => [join(REPO_ROOT, path), code])));
  const script = `
    const { ESLint } = require('eslint');
    const cases = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8'));
    (async () => {
      const eslint = new ESLint({ cwd: ${JSON.stringify(REPO_ROOT)} });
      const out = [];
      for (const [filePath, code] of cases) {
        const [r] = await eslint.lintText(code, { filePath });
        out.push(r.messages.filter((m) => m.fatal || m.ruleId === '@typescript-eslint/no-restricted-imports' || m.ruleId === 'max-lines').map((m) => m.ruleId + ': ' + m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const r = await run(process.execPath, ['-e', script], { cwd: REPO_ROOT, timeoutMs: 110_000 });
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[][];
}

const REFUSED: [path: string, code: string, message: string][] = [
  [
    'lib/model/x.ts',
    "import { withSession } from '../runtime/session';",
    'the model (pure: spec, topology, synthesis decisions) may not import the runtime or the CLI',
  ],
  ['lib/model/x.ts', "import { App } from 'cdktf';", 'may not import cdktf, constructs, etcd3 or commander'],
  ['lib/contract/x.ts', "import { DEFAULTS } from '../model/defaults';", 'the contract (zod schemas only) may not import the model, the runtime or the CLI'],
  ['lib/contract/x.ts', "import { parse } from 'yaml';", 'may not import a package other than zod'],
  [
    'constructs/x.ts',
    "import { verifyCluster } from '../lib/runtime/verify';",
    'the constructs and stacks (render the topology) may not import the runtime or the CLI',
  ],
  ['stacks/x.ts', "import { Etcd3 } from 'etcd3';", 'may not import etcd3, commander or @peculiar/x509'],
  ['lib/runtime/x.ts', "import { InputError } from '../cli/errors';", 'the runtime (hooks and commands acting on the live cluster) may not import the CLI'],
  ['lib/runtime/x.ts', "import { buildTopology } from '../model/topology';", 'may not import the model beyond its pure modules'],
  ['lib/runtime/x.ts', "import { App } from 'cdktf';", 'may not import cdktf, constructs or commander'],
  ['lib/cli/x.ts', "import { withSession } from '../runtime/session';", 'the CLI may not import the runtime (import it inside the action)'],
  ['lib/cli/commands/x.ts', "import { STEP_COLUMNS } from './defrag';", 'a command may not import a sibling command'],
];

const ALLOWED: [path: string, code: string][] = [
  ['lib/model/x.ts', "import { z } from 'zod';"],
  ['lib/runtime/x.ts', "import { readSnapshot } from '../model/snapshot';"],
  ['lib/runtime/x.ts', "import { LABEL_CLUSTER } from '../model/topology/types';"],
  ['lib/cli/x.ts', "import type { Survey } from '../runtime/survivors';"],
  ['lib/cli/x.ts', "import { hex } from '../runtime/live';"],
  ['lib/cli/commands/index.ts', "import { x } from './status';"],
  ['constructs/x.ts', "import { buildTopology } from '../lib/model';"],
];

/** The import, and a use of what it imports (so that no other rule speaks of an unused name). */
const withUse = (code: string) => `${code}\nexport const used = [${/import (?:type )?\{ (\w+)/.exec(code)![1]}];\n`;
const lines = (n: number) => Array.from({ length: n }, (_, i) => `export const v${i} = ${i};`).join('\n') + '\n';
const LONG = ['lib/runtime/x.ts', 'constructs/x.ts', 'stacks/x.ts'];

let refused: string[][];
let allowed: string[][];
let long: string[][];
beforeAll(async () => {
  const all = await lintAll([
    ...REFUSED.map(([path, code]): [string, string] => [path, withUse(code)]),
    ...ALLOWED.map(([path, code]): [string, string] => [path, withUse(code)]),
    ...LONG.flatMap((path): [string, string][] => [
      [path, lines(400)],
      [path, lines(401)],
    ]),
  ]);
  refused = all.slice(0, REFUSED.length);
  allowed = all.slice(REFUSED.length, REFUSED.length + ALLOWED.length);
  long = all.slice(REFUSED.length + ALLOWED.length);
});

describe('what each folder may import', () => {
  test.each(REFUSED.map((c, i) => [...c, i] as const))('%s: %s is refused', (_path, _code, message, i) => {
    expect(refused[i]).toEqual([expect.stringContaining(message)]);
  });

  test.each(ALLOWED.map((c, i) => [...c, i] as const))('%s: %s is allowed', (_path, _code, i) => {
    expect(allowed[i]).toEqual([]);
  });
});

test.each(LONG.map((path, i) => [path, i] as const))('%s: 401 lines are refused, 400 are not', (_path, i) => {
  expect(long[2 * i]).toEqual([]);
  expect(long[2 * i + 1]).toEqual([expect.stringMatching(/^max-lines: File has too many lines \(401\)\. Maximum allowed is 400\./)]);
});
