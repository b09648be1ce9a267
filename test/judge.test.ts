/**
 * The verifier's judgement without Docker: recorded observations of a 3+2 cluster, healthy and in every
 * failure mode the integration suites provoke, against the expectation synthesis produces.
 */
import { buildTopology, expectationOf, validateSpec } from '../lib/model';
import { judge, type LiveMember, type Observation, type PrimaryObservation } from '../lib/runtime/judge';

const e = expectationOf(buildTopology(validateSpec({ name: 'j', primaries: 3, secondaries: 2, ports: { primaryBase: 30001, secondaryBase: 30101 } })));
const [p1, p2, p3] = e.target.primaries;
const [s1, s2] = e.secondaries;
const CLUSTER = '4242';
const ids = ['1001', '1002', '1003'];
const live = (): LiveMember[] =>
  e.target.primaries.map((p, k) => ({ ID: ids[k], name: p.name, peerURLs: [p.peerUrl], clientURLs: [p.clientUrl], isLearner: false }));
const answer = (k: number, members = live(), over: Partial<NonNullable<PrimaryObservation['answer']>> = {}): PrimaryObservation => ({
  name: e.target.primaries[k].name,
  answer: { clusterId: CLUSTER, memberId: ids[k], leader: ids[0], raftIndex: '42', members, ...over },
});

type Recorded = { -readonly [K in keyof Observation]: Observation[K] };

/** What observe() records of a healthy 3+2 cluster. */
function healthy(): Recorded {
  return {
    primaries: [answer(0), answer(1), answer(2)],
    probe: { writer: p1.name, value: 'v1', reads: { [p1.name]: { value: 'v1' }, [p2.name]: { value: 'v1' }, [p3.name]: { value: 'v1' } } },
    registrations: {
      list: [
        { key: s1.registrationKey!, ttlSeconds: 8 },
        { key: s2.registrationKey!, ttlSeconds: 9 },
      ],
    },
    secondaryReads: { [s1.name]: { value: 'v1' }, [s2.name]: { value: 'v1' } },
  };
}
const refused = (endpoint: string) => `connect ECONNREFUSED ${endpoint.replace('http://', '')}`;
const problems = (o: Observation) => judge(e, o).problems.map((p) => `${p.subject}: ${p.message}`);
const states = (o: Observation) => Object.fromEntries(judge(e, o).members.map((m) => [m.name, m.state]));

test('a healthy cluster matches: one leader, two followers, two registered secondaries', () => {
  const v = judge(e, healthy());
  expect(v.problems).toEqual([]);
  expect(v.ok).toBe(true);
  expect(v.reachable).toBe(true);
  expect(v.leader).toBe(p1.name);
  expect(v.clusterId).toBe((4242).toString(16));
  expect(states(healthy())).toEqual({ [p1.name]: 'leader', [p2.name]: 'follower', [p3.name]: 'follower', [s1.name]: 'registered', [s2.name]: 'registered' });
  expect(v.members.find((m) => m.name === s2.name)?.ttlSeconds).toBe(9);
  expect(v.members.find((m) => m.name === p2.name)?.id).toBe('3ea');
});

test('a stopped primary is unreachable, and only it', () => {
  const o = healthy();
  o.primaries[2] = { name: p3.name, error: refused(p3.endpoint) };
  delete o.probe!.reads[p3.name];
  expect(problems(o)).toEqual([`${p3.name}: unreachable at ${p3.endpoint}: ${refused(p3.endpoint)}`]);
  expect(states(o)[p3.name]).toBe('unreachable');
  expect(judge(e, o).reachable).toBe(true);
});

test('an extra member added out of band, never started', () => {
  const members = [...live(), { ID: '999', name: '', peerURLs: ['http://ghost-member:2380'], clientURLs: [], isLearner: false }];
  const o = healthy();
  o.primaries = [answer(0, members), answer(1, members), answer(2, members)];
  expect(problems(o)).toEqual(['(unstarted 3e7): is an extra member (peer URLs http://ghost-member:2380) that the spec does not declare']);
  expect(states(o)['(unstarted 3e7)']).toBe('extra');
});

test('a primary whose peer URL was moved out of band', () => {
  const members = live().map((m) => (m.name === p2.name ? { ...m, peerURLs: [`http://${p2.name}-moved:2380`] } : m));
  const o = healthy();
  o.primaries = [answer(0, members), answer(1, members), answer(2, members)];
  expect(problems(o)).toEqual([`${p2.name}: has peer URL http://${p2.name}-moved:2380, declared ${p2.peerUrl}`]);
});

test('a primary started with another token: it never serves clients, and the others list it as never joined', () => {
  const members = live().map((m) => (m.name === p3.name ? { ...m, clientURLs: [] } : m));
  const o = healthy();
  o.primaries = [answer(0, members), answer(1, members), { name: p3.name, error: 'no answer before the deadline' }];
  delete o.probe!.reads[p3.name];
  expect(problems(o)).toEqual([
    `${p3.name}: unreachable at ${p3.endpoint}: no answer before the deadline`,
    `${p3.name}: is listed but has never joined (no client URL published): was it started with another --initial-cluster-token or --initial-cluster, or can it not reach its peers?`,
  ]);
});

test('a primary that answers from another cluster is foreign', () => {
  const o = healthy();
  o.primaries[2] = answer(2, [{ ...live()[2] }], { clusterId: '7777', leader: ids[2] });
  delete o.probe!.reads[p3.name];
  expect(problems(o)).toContain(
    `${p3.name}: belongs to cluster ${(7777).toString(16)}, not ${(4242).toString(16)} (started with another --initial-cluster-token or --initial-cluster?)`,
  );
  expect(states(o)[p3.name]).toBe('foreign');
});

test('a learner is not a voting member', () => {
  const members = live().map((m) => (m.name === p3.name ? { ...m, isLearner: true } : m));
  const o = healthy();
  o.primaries = [answer(0, members), answer(1, members), answer(2, members)];
  expect(problems(o)).toEqual([`${p3.name}: is a learner, not a voting member`]);
  expect(states(o)[p3.name]).toBe('learner');
});

test('a stopped secondary: its registration lapsed and it serves no reads', () => {
  const o = healthy();
  o.registrations = { list: [{ key: s1.registrationKey!, ttlSeconds: 8 }] };
  o.secondaryReads[s2.name] = { error: refused(s2.endpoint) };
  expect(problems(o)).toEqual([
    `${s2.name}: is not registered under ${e.registryPrefix} (expected key ${s2.registrationKey})`,
    `${s2.name}: does not serve reads at ${s2.endpoint}: ${refused(s2.endpoint)}`,
  ]);
  expect(states(o)[s2.name]).toBe('unregistered');
});

test('a stale registration of a secondary that is gone', () => {
  const o = healthy();
  const stale = `${e.registryPrefix}/j-secondary-3:2379`;
  o.registrations = { list: [...(o.registrations as { list: { key: string; ttlSeconds?: number }[] }).list, { key: stale, ttlSeconds: 3 }] };
  expect(problems(o)).toEqual([`j-secondary-3:2379: registration ${stale} belongs to no declared secondary (stale, lapses in 3s)`]);
  expect(states(o)['j-secondary-3:2379']).toBe('extra');
});

test('unreachable published ports: every member fails, and nothing answered at all', () => {
  const o: Recorded = { primaries: e.target.primaries.map((p) => ({ name: p.name, error: refused(p.endpoint) })), secondaryReads: {} };
  const v = judge(e, o);
  expect(v.reachable).toBe(false);
  expect(v.problems.map((p) => p.subject)).toEqual([p1.name, p2.name, p3.name]);
  // Nothing was written, so the secondaries are not judged by reads, and no registration was read.
  expect(states(o)).toEqual({ [p1.name]: 'unreachable', [p2.name]: 'unreachable', [p3.name]: 'unreachable', [s1.name]: 'unknown', [s2.name]: 'unknown' });
});

test('no leader, and a write that fails for it', () => {
  const o = healthy();
  o.primaries = [answer(0, live(), { leader: '0' }), answer(1, live(), { leader: '0' }), answer(2, live(), { leader: '0' })];
  o.probe = { writer: p1.name, value: 'v1', writeError: 'etcdserver: no leader', reads: {} };
  o.secondaryReads = {};
  expect(problems(o)).toEqual(['cluster: has no leader', `cluster: a write through ${p1.name} failed: etcdserver: no leader`]);
});

test('primaries that disagree on the member list', () => {
  const o = healthy();
  o.primaries[1] = answer(1, live().slice(0, 2));
  expect(problems(o)).toContain('cluster: primaries report different member lists');
});

test('a read that returns another value', () => {
  const o = healthy();
  o.probe!.reads[p2.name] = { value: 'stale' };
  o.secondaryReads[s1.name] = { value: undefined };
  expect(problems(o)).toEqual([
    `${p2.name}: a linearizable read did not return the value just written`,
    `${s1.name}: a read through ${s1.endpoint} did not return the value just written`,
  ]);
});

test('an active NOSPACE alarm is a problem of the member that raised it, with what to do', () => {
  const o = healthy();
  o.alarms = { list: [{ memberId: ids[1], alarm: 'NOSPACE' }] };
  expect(problems(o)).toEqual([
    `${p2.name}: alarm NOSPACE is active: the backend reached its quota and refuses writes: etcd-cluster reclaim compacts, defragments every member and disarms it (the backup container does it by itself unless defrag.enabled is false); if the data itself fills the quota, delete what is not needed first or raise etcd.quotaBackendBytes`,
  ]);
  expect(judge(e, o).members.find((m) => m.name === p2.name)?.alarms).toEqual(['NOSPACE']);
});

test('a restored cluster must serve at least the revision of its snapshot', () => {
  const restored = { ...e, minRevision: '1001' };
  const o = healthy();
  o.primaries = [answer(0, live(), { revision: '1200' }), answer(1, live(), { revision: '1001' }), answer(2, live(), { revision: '7' })];
  expect(judge(restored, o).problems.map((p) => `${p.subject}: ${p.message}`)).toEqual([
    `${p3.name}: serves revision 7, older than the snapshot the cluster was restored from (1001)`,
  ]);
});

test('many registered secondaries silent at once name the host as the likely cause; a few do not', () => {
  const many = expectationOf(buildTopology(validateSpec({ name: 'j', primaries: 3, secondaries: 30, ports: { primaryBase: 30001, secondaryBase: 30101 } })));
  const look = (silent: number): Observation => ({
    ...healthy(),
    registrations: { list: many.secondaries.map((s) => ({ key: s.registrationKey!, ttlSeconds: 8 })) },
    secondaryReads: Object.fromEntries(many.secondaries.map((s, k) => [s.name, k < silent ? { error: 'no answer before the deadline' } : { value: 'v1' }])),
  });
  const hint = (o: Observation) => judge(many, o).problems.filter((p) => p.subject === 'cluster' && /neighbor table overflow/.test(p.message));
  expect(hint(look(20)).map((p) => p.message)).toEqual([
    '20 registered secondaries do not answer through their published ports: with hundreds of containers on one host, look for "neighbor table overflow" in dmesg and raise net.ipv4.neigh.default.gc_thresh1/2/3 (README, "Hundreds of secondaries")',
  ]);
  expect(hint(look(19))).toEqual([]);
  // Each silent one is still named.
  expect(judge(many, look(20)).problems.filter((p) => /does not serve reads/.test(p.message))).toHaveLength(20);
});
