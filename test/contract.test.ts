/**
 * The contract between synthesis and the hooks: version 2 embeds one target, and version-1 messages (what
 * release 0.2.0 recorded in users' Terraform state) are still read, converted to version 2.
 */
import { memberOf, parseExpectation, parseExpectationText, parseMemberOp, withTlsPaths, type MemberOp } from '../lib/contract';
import { buildTopology, etcdVersionOfImage, expectationOf, memberOpOf, validateSpec } from '../lib/model';
import { v020Stack } from './helpers/fixture-stack';

const old = v020Stack({ name: 'legacy', image: 'cdktf-etcd-cluster/etcd:3.5.21-local', primaryBase: 31001, secondaryBase: 31101 });
const input = (address: string) => (old.resource.terraform_data[address] as { input: Record<string, unknown> }).input;

describe('version 1, as release 0.2.0 recorded it in the state', () => {
  test('the fixture holds version-1 messages', () => {
    expect(input('cluster_primary-3_member')).toMatchObject({ version: 1, name: 'legacy-primary-3', endpoints: expect.any(Array) });
    expect(input('cluster_verify_hook_DF379E4D')).toMatchObject({ version: 1, cluster: 'legacy' });
  });

  test("a member operation: the member with what 0.2.0 recorded of it, the others by their endpoints (removed blocks' input)", () => {
    const op = parseMemberOp(JSON.stringify(input('cluster_primary-3_member')), 'ETCD_CLUSTER_MEMBER');
    expect(op).toEqual({
      kind: 'cdktf-etcd-cluster/member',
      version: 2,
      member: 'legacy-primary-3',
      replaces: false,
      target: {
        cluster: 'legacy',
        tls: null,
        auth: null,
        image: null,
        primaries: [
          { name: 'legacy-primary-1', index: 1, endpoint: 'http://127.0.0.1:31001', clientUrl: null, peerUrl: null, metrics: null, docker: null, volume: null },
          { name: 'legacy-primary-2', index: 2, endpoint: 'http://127.0.0.1:31002', clientUrl: null, peerUrl: null, metrics: null, docker: null, volume: null },
          {
            name: 'legacy-primary-3',
            index: 3,
            endpoint: 'http://127.0.0.1:31003',
            clientUrl: null,
            peerUrl: 'http://legacy-primary-3:2380',
            metrics: null,
            docker: null,
            volume: 'legacy-primary-3-data',
          },
        ],
      },
    });
    expect(memberOf(op).peerUrl).toBe('http://legacy-primary-3:2380');
  });

  test('an expectation: every primary and secondary as 0.2.0 listed them; volumes and image were not recorded', () => {
    const e = parseExpectation(input('cluster_verify_hook_DF379E4D'), 'cdk.tf.json');
    expect(e.version).toBe(2);
    expect(e.target.cluster).toBe('legacy');
    expect(e.target.image).toBeNull();
    expect(e.target.primaries.map((p) => [p.index, p.name, p.clientUrl, p.peerUrl, p.endpoint, p.volume])).toEqual([
      [1, 'legacy-primary-1', 'http://legacy-primary-1:2379', 'http://legacy-primary-1:2380', 'http://127.0.0.1:31001', null],
      [2, 'legacy-primary-2', 'http://legacy-primary-2:2379', 'http://legacy-primary-2:2380', 'http://127.0.0.1:31002', null],
      [3, 'legacy-primary-3', 'http://legacy-primary-3:2379', 'http://legacy-primary-3:2380', 'http://127.0.0.1:31003', null],
    ]);
    expect(e.secondaries.map((s) => s.endpoint)).toEqual(['http://127.0.0.1:31101', 'http://127.0.0.1:31102']);
    expect([e.minRevision, e.backup]).toEqual([null, null]);
  });

  test('a version-1 operation whose name is none of its primaries is refused in one line', () => {
    const bad = { ...input('cluster_primary-2_member'), name: 'legacy-primary-7' };
    expect(() => parseMemberOp(JSON.stringify(bad), 'ETCD_CLUSTER_MEMBER')).toThrow(
      'ETCD_CLUSTER_MEMBER: malformed member: name: legacy-primary-7 is none of the primaries its endpoints list (legacy-primary-1, legacy-primary-2)',
    );
  });
});

describe('version 2', () => {
  const t = buildTopology(
    validateSpec({ name: 'v2', primaries: 5, initialPrimaries: 3, secondaries: 1, image: 'quay.io/coreos/etcd:v3.6.16', tls: undefined }),
  );

  test('the member operation of primary i lists primaries 1..i, so that growing changes no earlier hook', () => {
    const ops = t.primaries.map((p) => memberOpOf(t, p));
    expect(ops.map((op) => op.target.primaries.map((p) => p.index))).toEqual([[1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4, 5]]);
    const bigger = buildTopology(validateSpec({ name: 'v2', primaries: 7, initialPrimaries: 3, secondaries: 1, image: 'quay.io/coreos/etcd:v3.6.16' }));
    bigger.primaries.slice(0, 5).forEach((p, k) => expect(memberOpOf(bigger, p)).toEqual(ops[k]));
  });

  test('what the model writes parses back as it is', () => {
    const e = expectationOf(t);
    expect(parseExpectationText(JSON.stringify(e), 'x')).toEqual(e);
    const op = memberOpOf(t, t.primaries[3]);
    expect(parseMemberOp(JSON.stringify(op), 'x')).toEqual(op);
    expect(e.target.image).toEqual({ ref: 'quay.io/coreos/etcd:v3.6.16', version: '3.6.16' });
  });

  test('a member that is none of the target primaries is one line naming the field', () => {
    const op = { ...memberOpOf(t, t.primaries[1]), member: 'v2-primary-9' };
    expect(() => parseMemberOp(JSON.stringify(op), 'ETCD_CLUSTER_MEMBER')).toThrow(
      'ETCD_CLUSTER_MEMBER: malformed member: member: must name one of target.primaries',
    );
  });

  test('an unknown version is one line', () => {
    expect(() => parseExpectation({ ...expectationOf(t), version: 3 }, 'cdk.tf.json')).toThrow(/^cdk\.tf\.json: malformed expectation: version: /);
  });

  test('TLS paths are mapped in both messages, nothing else', () => {
    const op: MemberOp = { ...memberOpOf(t, t.primaries[0]), target: { ...memberOpOf(t, t.primaries[0]).target, tls: { ca: 'a', cert: 'b', key: 'c' } } };
    const mapped = withTlsPaths(op, (p) => `/stack/${p}`);
    expect(mapped.target.tls).toEqual({ ca: '/stack/a', cert: '/stack/b', key: '/stack/c' });
    expect({ ...mapped, target: { ...mapped.target, tls: null } }).toEqual({ ...op, target: { ...op.target, tls: null } });
  });
});

test.each([
  ['gcr.io/etcd-development/etcd:v3.5.21', '3.5.21'],
  ['cdktf-etcd-cluster/etcd:3.6.16-local', '3.6.16'],
  ['localhost:5000/etcd:v3.4.23', '3.4.23'],
  ['localhost:5000/etcd', null],
  ['etcd:latest', null],
  ['etcd:snapshot', null],
])('the etcd version of image %s is %s', (image, version) => {
  expect(etcdVersionOfImage(image)).toBe(version);
});
