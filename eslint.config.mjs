// Lint rules of the repository: typescript-eslint's recommended set, plus what the code review asked for.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * A folder's import rule: each [regex, what it names, allowTypeImports?] forbids imports whose text matches,
 * with a message saying which layer refuses what; `ignores` are files of the folder the rule leaves alone.
 */
const layer = (files, name, forbidden, ignores = []) => ({
  files,
  ignores,
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map(([regex, what, allowTypeImports = false]) => ({
          regex,
          allowTypeImports,
          message: `${name} may not import ${what} (README, "Architecture").`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdktf.out/', '.work/', 'coverage/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // The Docker API answers with untyped JSON; the harness reads it as such.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // cdktf's interpolations are strings like '${self.input}'.
      'no-template-curly-in-string': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  // The README's "Architecture" table, enforced: what each folder may import (test/lint-rules.test.ts shows
  // each rule fails on a file that breaks it). Regexes over the import's text: relative paths name the folder.
  layer(['lib/model/**/*.ts'], 'the model (pure: spec, topology, synthesis decisions)', [
    ['(^|/)(runtime|cli)(/|$)', 'the runtime or the CLI'],
    ['(^|/)(constructs|stacks)/', 'the constructs or stacks'],
    ['^(cdktf|constructs|etcd3|commander|@cdktf/.*)$', 'cdktf, constructs, etcd3 or commander'],
  ]),
  layer(['lib/contract/**/*.ts'], 'the contract (zod schemas only)', [
    ['(^|/)(model|runtime|cli)(/|$)', 'the model, the runtime or the CLI'],
    ['^(?!zod$|node:)[^.]', 'a package other than zod'],
  ]),
  layer(['constructs/**/*.ts', 'stacks/**/*.ts'], 'the constructs and stacks (render the topology)', [
    ['(^|/)lib/(runtime|cli)(/|$)', 'the runtime or the CLI'],
    ['^(etcd3|commander|@peculiar/x509)$', 'etcd3, commander or @peculiar/x509'],
  ]),
  layer(['lib/runtime/**/*.ts'], 'the runtime (hooks and commands acting on the live cluster)', [
    ['(^|/)cli(/|$)', 'the CLI'],
    ['(^|/)(constructs|stacks)/', 'the constructs or stacks'],
    ['^(cdktf|constructs|commander|@cdktf/.*)$', 'cdktf, constructs or commander'],
    // The model's pure modules it may use are named: anything else of the model is a sign the model is missing something.
    [
      '(^|/)model/(?!(recovery|snapshot|load|topology/types|pki|pki-rotation)$)',
      'the model beyond its pure modules recovery, snapshot, load, topology/types, pki, pki-rotation',
    ],
  ]),
  // The CLI loads the runtime only in a command's action (a dynamic import), so that `--help` and the hook's
  // start-up stay small: statically, only types and the two modules that load no etcd client.
  layer(['lib/cli/**/*.ts'], 'the CLI', [['(^|/)runtime/(?!(errors|live)$)', 'the runtime (import it inside the action)', true]]),
  // One file per command: what several commands share lives in lib/cli (options.ts, columns.ts), never in a sibling.
  layer(
    ['lib/cli/commands/*.ts'],
    'a command',
    [['^\\./(?!index$)', 'a sibling command (share through lib/cli/options.ts or columns.ts)']],
    ['lib/cli/commands/index.ts'],
  ),
  {
    files: ['lib/**/*.ts', 'constructs/**/*.ts', 'stacks/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
