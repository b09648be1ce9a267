/**
 * Where the CLI gets the expected cluster from: a synthesized stack directory (the hook's input), a spec
 * file (through the same topology the constructs render), or the hook's environment variable.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { EXPECTATION_ENV, EXPECTATION_KIND, parseExpectation, parseExpectationText, withTlsPaths, type Expectation } from '../contract';

/** The expectation a spec file declares. The model (and the YAML parser) is loaded only here: the hook's path never needs it. */
async function expectationOfSpecFile(file: string): Promise<Expectation> {
  const { buildTopology, expectationOf, loadSpecFile } = await import('../model');
  return expectationOf(buildTopology(loadSpecFile(file)));
}

/** Bad input to the CLI: one line, exit code 2. */
export class InputError extends Error {}

/** Every cluster expectation in a synthesized stack (`cdktf.out/stacks/<name>`). */
export function expectationsFromStack(dir: string): Expectation[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`--stack: ${dir} is not a directory (run cdktf synth first)`);
  const file = join(dir, 'cdk.tf.json');
  if (!existsSync(file)) throw new InputError(`--stack: ${dir} holds no cdk.tf.json (run cdktf synth first)`);
  let tf: { resource?: Record<string, Record<string, { input?: unknown }>> };
  try {
    tf = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const hooks = Object.values(tf.resource?.terraform_data ?? {}).filter(
    (r) => r && typeof r.input === 'object' && (r.input as { kind?: unknown }).kind === EXPECTATION_KIND,
  );
  if (hooks.length === 0) throw new InputError(`${file}: holds no etcd cluster verification hook (was verify.enabled false?)`);
  // TLS files are named relative to the stack directory, where Terraform (and so the hook) runs.
  const inStack = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  return hooks.map((h) => withTlsPaths(parseExpectation(h.input, file), inStack));
}

/** The stacks under `cdktf.out/stacks` that hold a cluster's verification hook. */
function synthesizedStacks(cwd: string): string[] {
  const root = join(cwd, 'cdktf.out', 'stacks');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, 'cdk.tf.json')) && readFileSync(join(dir, 'cdk.tf.json'), 'utf8').includes(EXPECTATION_KIND));
}

export interface ExpectationSource {
  readonly stack?: string;
  readonly spec?: string;
  readonly cluster?: string;
}

/**
 * Picks the one expectation the user means: --stack, --spec, the hook's environment, or, with none of
 * them, the spec file of the current directory (cluster.yaml, or ETCD_CLUSTER_CONFIG) or else the one
 * synthesized stack under cdktf.out/stacks. `say` is told which one was chosen that way.
 */
export async function loadExpectation(
  src: ExpectationSource,
  env: NodeJS.ProcessEnv = process.env,
  say: (line: string) => void = () => undefined,
  cwd = process.cwd(),
): Promise<Expectation> {
  if (src.stack && src.spec) throw new InputError('--stack and --spec: give one of them, not both');
  let found: Expectation[];
  if (src.stack) found = expectationsFromStack(src.stack);
  else if (src.spec) found = [await expectationOfSpecFile(src.spec)];
  else if (env[EXPECTATION_ENV]) found = [parseExpectationText(env[EXPECTATION_ENV], EXPECTATION_ENV)];
  else {
    const { SPEC_FILE_ENV, specPathFromEnv } = await import('../model/load');
    const specFile = join(cwd, specPathFromEnv(env));
    const stacks = synthesizedStacks(cwd);
    if (existsSync(specFile)) {
      say(`using the spec ${relative(cwd, specFile) || specFile} (choose another with --spec or --stack)`);
      found = [await expectationOfSpecFile(specFile)];
    } else if (stacks.length === 1) {
      say(`using the stack ${relative(cwd, stacks[0])} (choose another with --stack or --spec)`);
      found = expectationsFromStack(stacks[0]);
    } else if (stacks.length > 1) {
      throw new InputError(
        `no spec file here and ${stacks.length} stacks under cdktf.out/stacks (${stacks.map((s) => relative(cwd, s)).join(', ')}); choose one with --stack`,
      );
    } else {
      throw new InputError(
        `no expected cluster: no ${specPathFromEnv(env)} here (${SPEC_FILE_ENV} names another) and no stack under cdktf.out/stacks; pass --spec <file> or --stack <dir>`,
      );
    }
  }

  if (src.cluster) {
    const match = found.filter((e) => e.target.cluster === src.cluster);
    if (match.length === 0) throw new InputError(`--cluster: no cluster named ${src.cluster} (found: ${found.map((e) => e.target.cluster).join(', ')})`);
    return match[0];
  }
  if (found.length > 1)
    throw new InputError(`--stack: ${found.length} clusters found (${found.map((e) => e.target.cluster).join(', ')}); choose one with --cluster`);
  return found[0];
}
