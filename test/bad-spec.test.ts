/**
 * Bad specs are refused with one line naming the field and the value. Every message is proved through the
 * model's own entry point (`loadSpecFile`, in process); two real `cdktf synth` runs prove the wiring: exit
 * code 1, the one line, no stack trace, nothing written.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile, SpecError } from '../lib/model';
import { cdktfSynth, synthStack, type RunResult } from './helpers/synth';

/** [case, spec file text (null: no file), file name, the one-line message after "<file>: "] */
/** What JSON.parse of this text throws on the running Node, as the spec loader passes it on. */
function jsonParseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} parsed`);
}

const BAD: [string, string | null, string, string][] = [
  [
    'even primaries',
    'name: bad\nprimaries: 4\n',
    'cluster.yaml',
    'primaries: an even count can split the vote into equal halves and tolerates 1 failure, as 3 do; use 1, 3, 5, 7 or 9 (got 4)',
  ],
  [
    'two primaries',
    'name: bad\nprimaries: 2\n',
    'cluster.yaml',
    'primaries: an even count can split the vote into equal halves and tolerates 0 failures, as 1 does; use 1, 3, 5, 7 or 9 (got 2)',
  ],
  ['zero primaries', 'name: bad\nprimaries: 0\n', 'cluster.yaml', 'primaries: a cluster needs at least one voting member; use 1, 3, 5, 7 or 9 (got 0)'],
  [
    'too many primaries',
    'name: bad\nprimaries: 11\n',
    'cluster.yaml',
    'primaries: more than 9 voters only slow every write, since each waits for a majority; use 1, 3, 5, 7 or 9 (got 11)',
  ],
  ['fractional primaries', 'name: bad\nprimaries: 3.5\n', 'cluster.yaml', 'primaries: must be a whole number: 1, 3, 5, 7 or 9 (got 3.5)'],
  ['primaries as text', 'name: bad\nprimaries: "three"\n', 'cluster.yaml', 'primaries: must be a whole number: 1, 3, 5, 7 or 9 (got "three")'],
  ['negative secondaries', 'name: bad\nsecondaries: -1\n', 'cluster.yaml', 'secondaries: must be 0 or more (got -1)'],
  ['fractional secondaries', 'name: bad\nsecondaries: 1.5\n', 'cluster.yaml', 'secondaries: must be a whole number, 0 or more (got 1.5)'],
  [
    'uppercase name',
    'name: Bad_Name\n',
    'cluster.yaml',
    'name: must be a DNS label: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (got "Bad_Name")',
  ],
  [
    'name ending in a hyphen',
    'name: bad-\n',
    'cluster.yaml',
    'name: must be a DNS label: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (got "bad-")',
  ],
  ['too long name', `name: ${'n'.repeat(41)}\n`, 'cluster.yaml', `name: is longer than 40 characters (got "${'n'.repeat(41)}")`],
  ['missing name', 'primaries: 3\n', 'cluster.yaml', 'name: is required'],
  ['name of the wrong type', 'name: 42\n', 'cluster.yaml', 'name: must be a string (got 42)'],
  [
    'clashing ports',
    'name: bad\nsecondaries: 2\nports:\n  primaryBase: 30000\n  secondaryBase: 30002\n',
    'cluster.yaml',
    "ports.secondaryBase: 30002 clashes with the primaries' ports 30000-30002 (secondaries need 30002-30003)",
  ],
  ['port out of range', 'name: bad\nports:\n  primaryBase: 70000\n', 'cluster.yaml', 'ports.primaryBase: must be 1 to 65535 (got 70000)'],
  [
    'ports running past 65535',
    'name: bad\nprimaries: 5\nports:\n  primaryBase: 65533\n',
    'cluster.yaml',
    'ports.primaryBase: 65533 leaves no room for 5 primaries (last port 65537 > 65535)',
  ],
  [
    'bind address not an address',
    'name: bad\nports:\n  bindAddress: localhost\n',
    'cluster.yaml',
    'ports.bindAddress: must be an IPv4 address (got "localhost")',
  ],
  [
    'unknown key',
    'name: bad\nreplicas: 3\n',
    'cluster.yaml',
    'replicas: unknown key (allowed: name, primaries, initialPrimaries, replace, recoveries, secondaries, image, token, ports, network, secondary, resources, backup, defrag, restore, metrics, verify, etcd, tls, auth, hosts, placement)',
  ],
  [
    'unknown nested key',
    'name: bad\nports:\n  base: 1\n',
    'cluster.yaml',
    'ports.base: unknown key (allowed: bindAddress, primaryBase, secondaryBase, peerBase)',
  ],
  [
    'bad subnet',
    'name: bad\nnetwork:\n  subnet: 10.1.2.3/24\n',
    'cluster.yaml',
    'network.subnet: must be an IPv4 subnet in CIDR form with a prefix of /8 to /29, e.g. 172.28.0.0/24 (got "10.1.2.3/24")',
  ],
  [
    'ETCD_ variable for a secondary',
    'name: bad\nsecondary:\n  env:\n    ETCD_NAME: x\n',
    'cluster.yaml',
    'secondary.env.ETCD_NAME: ETCD_* variables conflict with etcd flags; pass flags in command instead (got "x")',
  ],
  [
    'unknown host in a placement',
    'name: bad\nprimaries: 1\nhosts:\n  - {name: a, docker: "unix:///run/a.sock", address: 192.0.2.1}\nplacement:\n  primaries: [b]\n',
    'cluster.yaml',
    'placement.primaries.0: unknown host "b" (hosts: a)',
  ],
  [
    'fewer hosts than primaries',
    'name: bad\nhosts:\n  - {name: a, docker: "unix:///run/a.sock", address: 192.0.2.1}\n',
    'cluster.yaml',
    'hosts: 1 host cannot hold 3 primaries one per host; add hosts, or place the primaries explicitly with placement.primaries',
  ],
  ['list instead of a mapping', '- name: bad\n', 'cluster.yaml', 'the spec must be a mapping of keys to values (got [{"name":"bad"}])'],
  ['empty file', '', 'cluster.yaml', 'the spec is empty; expected a mapping with at least "name"'],
  [
    'broken YAML',
    'name: [bad\n',
    'cluster.yaml',
    'not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1',
  ],
  ['duplicate key', 'name: bad\nname: worse\n', 'cluster.yaml', 'not valid YAML: Map keys must be unique at line 2, column 1'],
  // V8's own words: Node 22 and later add the line and column ("... at position 15 (line 1 column 16)").
  ['broken JSON', '{"name": "bad",}', 'cluster.json', `not valid JSON: ${jsonParseError('{"name": "bad",}')}`],
  ['missing file', null, 'cluster.yaml', 'spec file not found (set ETCD_CLUSTER_CONFIG to use another file)'],
];

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'bad-spec-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What `loadSpecFile` throws for this file content (null: no file). */
function refusal(text: string | null, fileName: string, k: number): { thrown: unknown; path: string } {
  const path = join(dir, String(k), fileName);
  if (text !== null) {
    mkdirSync(join(dir, String(k)), { recursive: true });
    writeFileSync(path, text);
  }
  try {
    loadSpecFile(path);
  } catch (thrown) {
    return { thrown, path };
  }
  return { thrown: undefined, path };
}

describe('bad specs are refused with one line naming the field and value', () => {
  test.each(BAD.map((c, k) => [...c, k] as const))('%s', (_case, text, fileName, message, k) => {
    const { thrown, path } = refusal(text, fileName, k);
    expect(thrown).toBeInstanceOf(SpecError);
    expect((thrown as Error).message).toBe(`${path}: ${message}`);
  });
});

/** The lines the app itself wrote to stderr, as `cdktf synth` reports them. */
function appStderr(r: RunResult): string[] {
  const at = r.stderr.indexOf('Command output on stderr:');
  expect(at).toBeGreaterThanOrEqual(0);
  return r.stderr
    .slice(at + 'Command output on stderr:'.length)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

// Two real `cdktf synth` runs (a few seconds each): the wiring from the spec file to the exit code.
jest.setTimeout(180_000);

test('cdktf synth of a bad spec: exit code 1, one line, no stack trace, no stack written', async () => {
  const r = await cdktfSynth('name: bad\nprimaries: 4\n');
  expect(r.code).toBe(1);
  expect(appStderr(r)).toEqual([`error: ${r.specPath}: ${BAD[0][3]}`]);
  expect(r.stdout + r.stderr).not.toMatch(/^\s+at /m);
  // No stack was written, not even an empty one.
  expect(existsSync(join(r.outDir, 'stacks'))).toBe(false);
});

test('cdktf synth with missing certificates (found while the stack is built): the same, and nothing written at all', async () => {
  const r = await cdktfSynth('name: bad\ntls:\n  dir: nowhere\n');
  expect(r.code).toBe(1);
  const dir = join(r.specPath, '..', 'nowhere');
  expect(appStderr(r)).toEqual([`error: tls.dir: ${join(dir, 'ca.crt')} is missing; run \`etcd-cluster pki --spec <spec>\` to make what is missing`]);
  expect(r.stdout + r.stderr).not.toMatch(/^\s+at /m);
  expect(existsSync(r.outDir)).toBe(false);
});

describe('good specs synthesize a stack', () => {
  test.each([
    [1, 0],
    [3, 2],
    [5, 7],
    [7, 1],
    [9, 3],
  ])('%i primaries and %i secondaries', (primaries, secondaries) => {
    const tf = synthStack({ name: `good-${primaries}-${secondaries}`, primaries, secondaries });
    expect(Object.keys(tf.resource.docker_container)).toHaveLength(primaries + secondaries);
  });
});
