/**
 * Where the CLI gets the expected cluster from: a synthesized stack directory (the hook's input), a spec
 * file (through the same topology the constructs render), or the hook's environment variable.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EXPECTATION_ENV, EXPECTATION_KIND, parseExpectation, parseExpectationText, type Expectation } from '../contract';
import { buildTopology, expectationOf, loadSpecFile } from '../model';

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
  return hooks.map((h) => parseExpectation(h.input, file));
}

export interface ExpectationSource {
  readonly stack?: string;
  readonly spec?: string;
  readonly cluster?: string;
}

/** Picks the one expectation the user means, from --stack, --spec or the hook's environment. */
export function loadExpectation(src: ExpectationSource, env: NodeJS.ProcessEnv = process.env): Expectation {
  if (src.stack && src.spec) throw new InputError('--stack and --spec: give one of them, not both');
  let found: Expectation[];
  if (src.stack) found = expectationsFromStack(src.stack);
  else if (src.spec) found = [expectationOf(buildTopology(loadSpecFile(src.spec)))];
  else if (env[EXPECTATION_ENV]) found = [parseExpectationText(env[EXPECTATION_ENV], EXPECTATION_ENV)];
  else throw new InputError('no expected cluster: pass --stack cdktf.out/stacks/<name> or --spec cluster.yaml');

  if (src.cluster) {
    const match = found.filter((e) => e.cluster === src.cluster);
    if (match.length === 0) throw new InputError(`--cluster: no cluster named ${src.cluster} (found: ${found.map((e) => e.cluster).join(', ')})`);
    return match[0];
  }
  if (found.length > 1) throw new InputError(`--stack: ${found.length} clusters found (${found.map((e) => e.cluster).join(', ')}); choose one with --cluster`);
  return found[0];
}
