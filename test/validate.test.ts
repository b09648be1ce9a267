/**
 * The model decides each fact once: a spec is validated once on the app's path (loaded, then handed to the
 * constructs), placed once, and whether the secondaries are the user's own client is one value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import * as placement from '../lib/model/placement';
import { specSchema } from '../lib/model/schema';
import { buildTopology, factsOf, loadSpecFile, SecondaryKind, validateSpec } from '../lib/model';
import { EtcdClusterStack } from '../stacks/etcd-cluster-stack';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'validate-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => jest.restoreAllMocks());

test("the app's path: the spec file is validated once and placed once, then rendered", () => {
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, 'name: once\nprimaries: 3\nsecondaries: 4\n');
  const parse = jest.spyOn(specSchema, 'safeParse');
  const place = jest.spyOn(placement, 'placementOf');
  const spec = loadSpecFile(file);
  const stack = new EtcdClusterStack(Testing.app(), { cluster: spec });
  expect(stack.cluster.endpoints).toHaveLength(3);
  expect(parse).toHaveBeenCalledTimes(1);
  expect(place).toHaveBeenCalledTimes(1);
});

test('props given to the construct are validated and placed once too', () => {
  const parse = jest.spyOn(specSchema, 'safeParse');
  const place = jest.spyOn(placement, 'placementOf');
  new EtcdClusterStack(Testing.app(), { cluster: { name: 'props', secondaries: 2 } });
  expect(parse).toHaveBeenCalledTimes(1);
  expect(place).toHaveBeenCalledTimes(1);
});

test('a validated spec is handed back as it is and keeps its facts; changed in place, it is checked and decided again', () => {
  const spec = validateSpec({ name: 'mutable', hosts: [{ name: 'a', docker: 'unix:///a.sock', address: '10.0.0.1' }], primaries: 1 });
  expect(validateSpec(spec)).toBe(spec);
  expect(factsOf(spec)).toBe(factsOf(spec));
  // 0.2.0 handed back a plain object, and code edits it before the construct (JS, or a cast): that still works.
  const parse = jest.spyOn(specSchema, 'safeParse');
  (spec as { secondaries: number }).secondaries = 2;
  expect(factsOf(spec).placement.secondaries).toEqual([
    { host: 0, slot: 0 },
    { host: 0, slot: 1 },
  ]);
  expect(buildTopology(spec).secondaries).toHaveLength(2);
  const again = validateSpec(spec);
  expect(again).toEqual(spec);
  expect(parse).toHaveBeenCalledTimes(1);
  expect(validateSpec(again)).toBe(again);
  // ... and a change that breaks a rule is refused, not taken on the old facts.
  (spec as { primaries: number }).primaries = 4;
  expect(() => validateSpec(spec)).toThrow(
    'primaries: an even count can split the vote into equal halves and tolerates 1 failure, as 3 do; use 1, 3, 5, 7 or 9 (got 4)',
  );
  // A spec built from a validated one is a new object: its facts are decided for it, not taken from the other.
  const base = validateSpec({ name: 'base', primaries: 1 });
  const edited = { ...base, secondaries: 2 };
  expect(factsOf(edited).placement.secondaries).toEqual([
    { host: 0, slot: 0 },
    { host: 0, slot: 1 },
  ]);
  expect(buildTopology(edited).secondaries).toHaveLength(2);
});

test('the kind of secondary is decided once, from the command', () => {
  expect(SecondaryKind.of({})).toEqual({ name: 'grpc-proxy', servesMetrics: true, takesExtraFlags: true });
  expect(SecondaryKind.of({ command: ['app', '{{endpoints}}'] })).toEqual({
    name: 'custom',
    command: ['app', '{{endpoints}}'],
    servesMetrics: false,
    takesExtraFlags: false,
  });
  const custom = validateSpec({ name: 'app', secondaries: 1, secondary: { command: ['app'] } });
  expect(factsOf(custom).secondaryKind.name).toBe('custom');
  // Every consumer asks that value: no metrics port for the user's own client, none of the proxy's flags.
  const t = buildTopology(validateSpec({ name: 'app', secondaries: 1, metrics: {}, secondary: { command: ['app', '{{endpoints}}'] } }));
  expect(t.secondaries[0].metricsPort).toBeUndefined();
  expect(t.secondaries[0].command).toEqual(['app', `http://app-primary-1:2379,http://app-primary-2:2379,http://app-primary-3:2379`]);
});
