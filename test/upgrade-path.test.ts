/**
 * etcd's documented upgrade path as the rollout and the upgrade check apply it (lib/runtime/upgrade-path.ts):
 * every refusal's exact line, and what goes ahead.
 */
import { needsV2StoreCheck, parseVersion, upgradeProblem, versionOfImage } from '../lib/runtime/upgrade-path';

describe('versions', () => {
  test.each([
    ['gcr.io/etcd-development/etcd:v3.6.16', [3, 6, 16]],
    ['cdktf-etcd-cluster/etcd:3.5.35-local', [3, 5, 35]],
    ['quay.io/coreos/etcd:v3.4.23-arm64', [3, 4, 23]],
    ['registry.local:5000/etcd:v3.5.26', [3, 5, 26]],
    ['registry.local:5000/etcd', undefined],
    ['etcd:latest', undefined],
    ['etcd', undefined],
    ['etcd:v3.6.16@sha256:0123abcd', [3, 6, 16]],
  ])('the tag of %s names %j', (image, version) => {
    expect(versionOfImage(image)).toEqual(version);
  });

  test('as etcd reports them', () => {
    expect(parseVersion('3.5.21')).toEqual([3, 5, 21]);
    expect(parseVersion('not a version')).toBeUndefined();
  });
});

/** Every hop the path judges: from, to, how (a rollout, one member at a time, or one apply), auth on, and the
 * verdict: undefined goes ahead, else the exact refusal, one line naming the hop to make first. */
const PATH: readonly (readonly [what: string, from: string, to: string, via: 'rollout' | 'apply', auth: boolean, verdict: string | undefined])[] = [
  ['goes ahead', '3.5.21', '3.5.21', 'rollout', false, undefined],
  ['goes ahead', '3.5.21', '3.5.35', 'rollout', false, undefined],
  ['goes ahead', '3.5.21', '3.5.35', 'apply', false, undefined],
  ['goes ahead', '3.4.23', '3.5.35', 'rollout', false, undefined],
  ['goes ahead', '3.5.26', '3.6.16', 'rollout', false, undefined],
  ['goes ahead', '3.5.35', '3.6.0', 'rollout', false, undefined],
  ['goes ahead', '3.6.11', '3.7.3', 'rollout', false, undefined],
  ['goes ahead', '3.6.15', '3.6.16', 'apply', false, undefined],
  ['a tag like latest is not judged', '3.5.21', 'latest', 'rollout', false, undefined],
  [
    'below the 3.5 -> 3.6 floor',
    '3.5.21',
    '3.6.16',
    'rollout',
    false,
    'refusing to upgrade demo from etcd 3.5.21 to 3.6.16: etcd 3.6 needs every member on 3.5.26 or later; first 3.5.21 -> the newest 3.5 patch (3.5.26 or later), then 3.6.16',
  ],
  [
    'just below it',
    '3.5.25',
    '3.6.0',
    'rollout',
    false,
    'refusing to upgrade demo from etcd 3.5.25 to 3.6.0: etcd 3.6 needs every member on 3.5.26 or later; first 3.5.25 -> the newest 3.5 patch (3.5.26 or later), then 3.6.0',
  ],
  [
    'below the 3.6 -> 3.7 floor',
    '3.6.10',
    '3.7.3',
    'rollout',
    false,
    'refusing to upgrade demo from etcd 3.6.10 to 3.7.3: etcd 3.7 needs every member on 3.6.11 or later; first 3.6.10 -> the newest 3.6 patch (3.6.11 or later), then 3.7.3',
  ],
  [
    'two minor releases at once',
    '3.4.23',
    '3.6.16',
    'rollout',
    false,
    'refusing to upgrade demo from etcd 3.4.23 to 3.6.16: etcd upgrades one minor release at a time; first 3.4 -> 3.5 (the newest 3.5 patch: 3.6 needs 3.5.26 or later)',
  ],
  [
    'two minor releases from below the next floor',
    '3.5.21',
    '3.7.3',
    'rollout',
    false,
    'refusing to upgrade demo from etcd 3.5.21 to 3.7.3: etcd upgrades one minor release at a time; first 3.5.21 -> the newest 3.5 patch (3.5.26 or later)',
  ],
  [
    'a new major release',
    '3.6.16',
    '4.0.0',
    'rollout',
    false,
    'refusing to upgrade demo from etcd 3.6.16 to 4.0.0: etcd upgrades one minor release at a time; first 3.6 -> 3.7 (the newest 3.7 patch)',
  ],
  [
    'a downgrade',
    '3.5.21',
    '3.4.23',
    'rollout',
    false,
    'refusing to roll demo back from etcd 3.5.21 to 3.4.23: etcd does not support downgrades this way (restore a snapshot into a new cluster instead)',
  ],
  [
    'a patch downgrade',
    '3.6.16',
    '3.6.15',
    'rollout',
    false,
    'refusing to roll demo back from etcd 3.6.16 to 3.6.15: etcd does not support downgrades this way (restore a snapshot into a new cluster instead)',
  ],
  [
    'a minor release in one apply, from the floor',
    '3.5.35',
    '3.6.16',
    'apply',
    false,
    "refusing to upgrade demo from etcd 3.5.35 to 3.6.16 in one apply, which would restart every primary at once: run etcd-cluster rollout (one member at a time, as etcd's upgrade guide asks)",
  ],
  [
    'the previous default to the new one (what a spec without image does)',
    '3.5.21',
    '3.6.16',
    'apply',
    false,
    'refusing to upgrade demo from etcd 3.5.21 to 3.6.16: etcd 3.6 needs every member on 3.5.26 or later; first 3.5.21 -> the newest 3.5 patch (3.5.26 or later) with etcd-cluster rollout, then 3.6.16',
  ],
  [
    'two minor releases',
    '3.4.23',
    '3.6.16',
    'apply',
    false,
    'refusing to upgrade demo from etcd 3.4.23 to 3.6.16: etcd upgrades one minor release at a time; first 3.4 -> 3.5 (the newest 3.5 patch: 3.6 needs 3.5.26 or later) with etcd-cluster rollout',
  ],
  [
    'a downgrade',
    '3.6.16',
    '3.5.35',
    'apply',
    false,
    'refusing to roll demo back from etcd 3.6.16 to 3.5.35: etcd does not support downgrades this way (restore a snapshot into a new cluster instead)',
  ],
  [
    'with auth on, 3.4 -> 3.5 (etcd does not support that rolling upgrade)',
    '3.4.23',
    '3.5.35',
    'rollout',
    true,
    'refusing to upgrade demo from etcd 3.4.23 to 3.5.35: etcd does not support a rolling upgrade from 3.4 with auth on (3.5 changes the WAL format of auth entries); take a snapshot (etcd-cluster snapshot save) and restore it into a new cluster of a 3.5 image',
  ],
  ['with auth on, a later hop', '3.5.35', '3.6.16', 'rollout', true, undefined],
  ['with auth on, a patch of 3.4', '3.4.22', '3.4.23', 'rollout', true, undefined],
];

test.each(PATH)('%s: %s -> %s by %s (auth %s)', (_what, from, to, via, auth, verdict) => {
  expect(upgradeProblem({ cluster: 'demo', from, to, via, ...(auth ? { auth } : {}) })).toBe(verdict);
});

test('etcdutl check v2store is asked for before 3.5 -> 3.6 only', () => {
  expect(needsV2StoreCheck('3.5.35', '3.6.16')).toBe(true);
  expect(needsV2StoreCheck('3.5.26', '3.6.0')).toBe(true);
  expect(needsV2StoreCheck('3.4.23', '3.5.35')).toBe(false);
  expect(needsV2StoreCheck('3.6.11', '3.7.3')).toBe(false);
  expect(needsV2StoreCheck('3.5.21', '3.5.35')).toBe(false);
  expect(needsV2StoreCheck('3.6.16', '3.6.16')).toBe(false);
});
