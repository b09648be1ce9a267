/**
 * The one reader of a synthesized stack (lib/contract/stack.ts), on a stack the constructs synthesize: what
 * the CLI and the runtime learn from it, and its one-line errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContractError } from '../lib/contract';
import { SynthesizedStack } from '../lib/contract/stack';
import { scratchDir, synthStackToDir } from './helpers/synth';

describe('a synthesized stack, read once', () => {
  const dir = scratchDir('stack-reader');
  writeFileSync(
    join(dir, 'cdk.tf.json'),
    JSON.stringify(synthStackToDir({ name: 'sr', primaries: 3, secondaries: 1, replace: { 2: 1 }, ports: { primaryBase: 12379, secondaryBase: 22379 } }, dir)),
  );
  const stack = SynthesizedStack.read(dir);

  test('the cluster, its primaries and their volumes', () => {
    expect(SynthesizedStack.exists(dir)).toBe(true);
    expect(stack.holdsCluster()).toBe(true);
    const e = stack.expectation('sr');
    expect(e.target.primaries.map((p) => [p.name, p.volume])).toEqual([
      ['sr-primary-1', 'sr-primary-1-data'],
      ['sr-primary-2', 'sr-primary-2-data-r1'],
      ['sr-primary-3', 'sr-primary-3-data'],
    ]);
    expect(() => stack.expectation('other')).toThrow(new ContractError(`${stack.file}: holds no cluster other (found: sr)`));
  });

  test("a container's address and command; the bootstrap record; the network step", () => {
    const c = stack.container('sr-primary-2');
    expect(c.address).toMatch(/^docker_container\.\S+$/);
    expect(c.command[0]).toMatch(/etcd$/);
    expect(c.command).toContain('--name=sr-primary-2');
    expect(() => stack.container('sr-primary-9')).toThrow(`${stack.file}: no container named sr-primary-9`);
    expect(stack.bootstrapAddress('sr')).toMatch(/^terraform_data\.\S*_bootstrap/);
    expect(stack.bootstrapAddress('other')).toBeUndefined();
    expect(stack.networks().map((n) => n.def.name)).toEqual(['sr-net']);
  });

  test('one line when there is no stack, no JSON, no cluster or no network', () => {
    const empty = scratchDir('stack-reader-empty');
    expect(SynthesizedStack.exists(empty)).toBe(false);
    expect(() => SynthesizedStack.read(join(empty, 'nope'))).toThrow(`--stack: ${join(empty, 'nope')} is not a directory (run cdktf synth first)`);
    expect(() => SynthesizedStack.read(empty)).toThrow(`--stack: ${empty} holds no cdk.tf.json (run cdktf synth first)`);
    const bad = join(empty, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'cdk.tf.json'), '{nope');
    expect(() => SynthesizedStack.read(bad)).toThrow(/cdk\.tf\.json: not valid JSON: /);
    writeFileSync(join(bad, 'cdk.tf.json'), '{"resource": {}}');
    const none = SynthesizedStack.read(bad);
    expect(none.holdsCluster()).toBe(false);
    expect(() => none.expectations()).toThrow(ContractError);
    expect(() => none.networks()).toThrow(`${none.file}: holds no network of an etcd cluster`);
  });
});
