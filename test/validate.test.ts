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

test('a validated spec is frozen, handed back as it is, and keeps the facts decided for it', () => {
  const spec = validateSpec({ name: 'frozen', hosts: [{ name: 'a', docker: 'unix:///a.sock', address: '10.0.0.1' }], primaries: 1 });
  expect(Object.isFrozen(spec)).toBe(true);
  expect(Object.isFrozen(spec.hosts![0].sshOpts)).toBe(true);
  expect(validateSpec(spec)).toBe(spec);
  expect(factsOf(spec)).toBe(factsOf(spec));
  expect(() => ((spec as { primaries: number }).primaries = 5)).toThrow(TypeError);
  // A spec built from a validated one is a new object: its facts are decided for it, not taken from the other.
  const edited = { ...spec, secondaries: 2 };
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
