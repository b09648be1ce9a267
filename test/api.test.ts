/**
 * The public API on purpose (its reviewed report is etc/cdktf-etcd-cluster.api.md, checked by `npm test`
 * with API Extractor): the entry point only re-exports, and every optional prop says its default.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import * as api from '../index';
import { REPO_ROOT } from './helpers/synth';

const source = (file: string) => ts.createSourceFile(file, readFileSync(join(REPO_ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);

/** `Interface.prop` for every optional property of the interfaces named `...Props` in these sources that has no `@default`. */
function optionalPropsWithoutDefault(sources: ts.SourceFile[]): string[] {
  return sources.flatMap((file) =>
    file.statements
      .filter((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text.endsWith('Props'))
      .flatMap((i) =>
        i.members
          .filter((m): m is ts.PropertySignature => ts.isPropertySignature(m) && m.questionToken !== undefined)
          .filter((m) => !ts.getJSDocTags(m).some((t) => t.tagName.text === 'default'))
          .map((m) => `${i.name.text}.${m.name.getText()}`),
      ),
  );
}

test('every optional prop documents its default', () => {
  expect(optionalPropsWithoutDefault(['lib/model/props.ts', 'stacks/etcd-cluster-stack.ts'].map(source))).toEqual([]);
});

test('the check sees a missing default (it can fail)', () => {
  const file = ts.createSourceFile(
    'x.ts',
    'export interface XProps {\n  /** with @default 1 */\n  readonly a?: number;\n  /** none */\n  readonly b?: number;\n  readonly c: number;\n}\nexport interface X {\n  readonly d?: number;\n}',
    ts.ScriptTarget.ES2022,
    true,
  );
  expect(optionalPropsWithoutDefault([file])).toEqual(['XProps.b']);
});

test('the entry point only re-exports', () => {
  const kinds = source('index.ts').statements.map((s) => ts.SyntaxKind[s.kind]);
  expect([...new Set(kinds)]).toEqual(['ExportDeclaration']);
});

test('the runtime exports are the constructs, the stack, and loading and validating a spec', () => {
  expect(Object.keys(api).sort()).toEqual([
    'DEFAULT_SPEC_FILE',
    'DOCKER_PROVIDER_VERSIONS',
    'EtcdCluster',
    'EtcdClusterStack',
    'REQUIRED_TERRAFORM',
    'SPEC_FILE_ENV',
    'SpecError',
    'loadSpecFile',
    'parseSpecText',
    'specPathFromEnv',
    'validateSpec',
  ]);
});
