/**
 * Which cluster a command works on: ONE rule for every command.
 *
 * 1. `--stack <dir>`: the clusters of that synthesized stack (their hooks' input);
 * 2. else `--spec <file>`: the cluster that spec declares as edited (through the same topology the constructs render);
 * 3. else the hook's environment (`ETCD_CLUSTER_EXPECTED`, set by the post-apply hook);
 * 4. else `./cluster.yaml` (or the file `ETCD_CLUSTER_CONFIG` names): its cluster as the stack synthesized
 *    from it declares it (`cdktf.out/stacks/<name>`: what `cdktf deploy` applied last), when there is one;
 *    else as the spec declares it. A spec edited since is said, with how to compare with it instead;
 * 5. else the one stack under `cdktf.out/stacks`.
 * `--cluster <name>` picks among several clusters of a stack. A choice made by default (4, 5) is said on stderr.
 *
 * A command that needs a stack directory (rollout runs Terraform there) uses `--stack`, else
 * `cdktf.out/stacks/<name>` of the spec chosen by 2 or 4, else the one stack under `cdktf.out/stacks`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { EXPECTATION_ENV, parseExpectationText, withTlsPaths, type Expectation } from '../contract';
import { SynthesizedStack } from '../contract/stack';
import { InputError } from './errors';
import type { SourceOptions } from './options';

export { InputError } from './errors';

/** The expectation a spec file declares, and the cluster's name. The model (and YAML) load only here: the hook's path never needs them. */
async function expectationOfSpecFile(file: string): Promise<Expectation> {
  const { buildTopology, expectationOf, loadSpecFile } = await import('../model');
  return expectationOf(buildTopology(loadSpecFile(file)));
}

/** Every cluster expectation in a synthesized stack (`cdktf.out/stacks/<name>`); TLS files resolved against it. */
export function expectationsFromStack(dir: string): Expectation[] {
  return SynthesizedStack.read(dir).expectations();
}

/** An expectation as text that does not depend on where its TLS files are, nor on the order of its keys. */
function canonical(e: Expectation): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sorted(withTlsPaths(e, () => '')));
}

/** The cluster of this name in the stack synthesized from the spec, or why there is none to use. */
function stackOfSpec(cwd: string, name: string): { dir: string; expectation?: Expectation; why?: string } {
  const dir = join(cwd, 'cdktf.out', 'stacks', name);
  if (!SynthesizedStack.exists(dir)) return { dir };
  try {
    const found = expectationsFromStack(dir).find((e) => e.target.cluster === name);
    return found ? { dir, expectation: found } : { dir, why: `it holds no cluster ${name}` };
  } catch (e) {
    return { dir, why: (e as Error).message };
  }
}

/** A path the user gave, for the working directory `cwd`: as given when that is where it leads anyway (messages show it as typed). */
const inCwd = (p: string, cwd: string) => (isAbsolute(p) || resolve(p) === join(cwd, p) ? p : join(cwd, p));

/** The stacks under `cdktf.out/stacks` that hold a cluster's verification hook. */
function synthesizedStacks(cwd: string): string[] {
  const root = join(cwd, 'cdktf.out', 'stacks');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => {
      try {
        return SynthesizedStack.read(dir).holdsCluster();
      } catch {
        return false;
      }
    });
}

/** The spec file of the working directory (`cluster.yaml`, or ETCD_CLUSTER_CONFIG), if there is one. */
async function defaultSpecFile(env: NodeJS.ProcessEnv, cwd: string): Promise<{ file?: string; name: string; envName: string }> {
  const { SPEC_FILE_ENV, specPathFromEnv } = await import('../model/load');
  const file = join(cwd, specPathFromEnv(env));
  return { file: existsSync(file) ? file : undefined, name: specPathFromEnv(env), envName: SPEC_FILE_ENV };
}

/** The one synthesized stack under `cdktf.out/stacks`, or why there is not one. */
function theOnlyStack(cwd: string, notFound: () => InputError): string {
  const stacks = synthesizedStacks(cwd);
  if (stacks.length > 1) {
    throw new InputError(
      `no spec file here and ${stacks.length} stacks under cdktf.out/stacks (${stacks.map((s) => relative(cwd, s)).join(', ')}); choose one with --stack`,
    );
  }
  if (!stacks.length) throw notFound();
  return stacks[0];
}

function pick(found: Expectation[], cluster: string | undefined): Expectation {
  if (cluster) {
    const match = found.filter((e) => e.target.cluster === cluster);
    if (match.length === 0) throw new InputError(`--cluster: no cluster named ${cluster} (found: ${found.map((e) => e.target.cluster).join(', ')})`);
    return match[0];
  }
  if (found.length > 1)
    throw new InputError(`--stack: ${found.length} clusters found (${found.map((e) => e.target.cluster).join(', ')}); choose one with --cluster`);
  return found[0];
}

/**
 * The one expectation the user means, by the rule above. `say` is told which one was chosen by default.
 */
export async function loadExpectation(
  src: SourceOptions,
  env: NodeJS.ProcessEnv = process.env,
  say: (line: string) => void = () => undefined,
  cwd = process.cwd(),
): Promise<Expectation> {
  if (src.stack && src.spec) throw new InputError('--stack and --spec: give one of them, not both');
  if (src.stack) return pick(expectationsFromStack(inCwd(src.stack, cwd)), src.cluster);
  if (src.spec) return pick([await expectationOfSpecFile(inCwd(src.spec, cwd))], src.cluster);
  if (env[EXPECTATION_ENV]) return pick([parseExpectationText(env[EXPECTATION_ENV], EXPECTATION_ENV)], src.cluster);
  const spec = await defaultSpecFile(env, cwd);
  if (spec.file) {
    const file = relative(cwd, spec.file) || spec.file;
    const declared = await expectationOfSpecFile(spec.file);
    const stack = stackOfSpec(cwd, declared.target.cluster);
    const at = relative(cwd, stack.dir);
    if (!stack.expectation) {
      say(`using the spec ${file} as edited (${stack.why ? `the stack ${at}: ${stack.why}` : `no stack ${at} yet`}; choose another with --spec or --stack)`);
      return pick([declared], src.cluster);
    }
    if (canonical(stack.expectation) === canonical(declared)) say(`using the stack ${at} of the spec ${file} (choose another with --stack or --spec)`);
    else say(`using the stack ${at}, as cdktf last synthesized it; ${file} was edited since (deploy it, or compare with it as edited: --spec ${file})`);
    return pick([stack.expectation], src.cluster);
  }
  const stack = theOnlyStack(
    cwd,
    () =>
      new InputError(
        `no expected cluster: no ${spec.name} here (${spec.envName} names another) and no stack under cdktf.out/stacks; pass --spec <file> or --stack <dir>`,
      ),
  );
  say(`using the stack ${relative(cwd, stack)} (choose another with --stack or --spec)`);
  return pick(expectationsFromStack(stack), src.cluster);
}

/**
 * A stack directory and the cluster in it, for a command that runs Terraform there (rollout), by the rule
 * above: `--stack`, else `cdktf.out/stacks/<name>` of the chosen spec, else the one stack.
 */
export async function loadStack(
  src: SourceOptions,
  env: NodeJS.ProcessEnv = process.env,
  say: (line: string) => void = () => undefined,
  cwd = process.cwd(),
): Promise<{ dir: string; expectation: Expectation }> {
  if (src.stack && src.spec) throw new InputError('--stack and --spec: give one of them, not both');
  let dir: string;
  if (src.stack) dir = resolve(cwd, src.stack);
  else {
    const specFile = src.spec ? inCwd(src.spec, cwd) : (await defaultSpecFile(env, cwd)).file;
    if (specFile) {
      const { name } = (await import('../model')).loadSpecFile(specFile);
      dir = join(cwd, 'cdktf.out', 'stacks', name);
      if (!SynthesizedStack.exists(dir))
        throw new InputError(`no stack ${relative(cwd, dir)} for the spec ${relative(cwd, specFile)} (run cdktf synth first, or pass --stack <dir>)`);
      say(`using the stack ${relative(cwd, dir)} of the spec ${relative(cwd, specFile)} (choose another with --stack)`);
    } else {
      dir = theOnlyStack(cwd, () => new InputError(`--stack: give the stack directory (found 0 under cdktf.out/stacks; run cdktf synth first)`));
      say(`using the stack ${relative(cwd, dir)} (choose another with --stack)`);
    }
  }
  return { dir, expectation: pick(expectationsFromStack(dir), src.cluster) };
}
