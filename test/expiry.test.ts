/**
 * Certificates that expire, without Docker: which certificates a TLS cluster lists (the expectation), how
 * their expiry is judged (the pure judge, on recorded observations), how it is printed, and what `verify`
 * exits with. The CLI runs against files with nothing listening.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitOfReport } from '../lib/cli/exit-codes';
import { issueLeaf, issuingCa, ensurePki } from '../lib/runtime/pki';
import { certificatesTable, JsonPrinter, membersTable, TablePrinter } from '../lib/cli/printers';
import { parseExpectation, withTlsPaths } from '../lib/contract';
import { buildTopology, CLIENT_CN, expectationOf, validateSpec } from '../lib/model';
import type { CertificateSeen, CertificatesObservation } from '../lib/runtime/certificates';
import { judgeExpiry } from '../lib/runtime/expiry';
import { judge, type Observation } from '../lib/runtime/judge';
import type { Report } from '../lib/runtime/verify';
import { REPO_ROOT, run, scratchDir } from './helpers/synth';

jest.setTimeout(60_000);
const BIN = join(REPO_ROOT, 'bin', 'etcd-cluster.js');
const DAY = 86_400_000;
const AT = '2027-03-01T12:00:00.000Z';
const inDays = (d: number) => new Date(Date.parse(AT) + d * DAY).toISOString();
const cert = (notAfter: string, fingerprint = 'f'.repeat(16), subject = 'CN=x'): CertificateSeen => ({
  subject,
  issuer: 'CN=cdktf-etcd-cluster CA',
  notBefore: inDays(-800),
  notAfter,
  fingerprint,
});

const tlsSpec = (extra: Record<string, unknown> = {}) =>
  validateSpec({ name: 'ex', primaries: 3, secondaries: 1, ports: { primaryBase: 30001, secondaryBase: 30101 }, tls: { dir: '/pki' }, ...extra });
const e = expectationOf(buildTopology(tlsSpec()));
const files = e.certificates!.files;

/** Every file read as lasting `days` (the CA 1000), every member serving its own file's certificate. */
function observed(days: (name: string) => number, served = true): CertificatesObservation {
  const fp = (name: string) => name.padEnd(16, '0').slice(0, 16);
  return {
    at: AT,
    files: files.map((f) => ({ ...f, certificates: [cert(inDays(f.use === 'ca' ? 1000 : days(f.name)), fp(f.name), `CN=${f.name}`)] })),
    served: served
      ? files
          .filter((f) => f.use === 'server-peer' || f.use === 'server')
          .map((f) => ({ member: f.members[0], endpoint: `https://127.0.0.1:${f.members[0].length}`, certificate: cert(inDays(days(f.name)), fp(f.name)) }))
      : [],
  };
}

describe('which certificates a TLS cluster lists', () => {
  test('the CA, each primary (server and peer), each secondary (server), the client, the proxies; warn days from the spec', () => {
    expect(files.map((f) => [f.name, f.use, f.members.join(',')])).toEqual([
      ['ca.crt', 'ca', ''],
      ['ex-primary-1.crt', 'server-peer', 'ex-primary-1'],
      ['ex-primary-2.crt', 'server-peer', 'ex-primary-2'],
      ['ex-primary-3.crt', 'server-peer', 'ex-primary-3'],
      ['ex-secondary-1.crt', 'server', 'ex-secondary-1'],
      ['client.crt', 'client', ''],
      ['upstream.crt', 'upstream', 'ex-secondary-1'],
    ]);
    expect(files.every((f) => f.path === join('/pki', f.name))).toBe(true);
    expect(e.certificates!.warnDays).toBe(30);
    expect(expectationOf(buildTopology(tlsSpec({ tls: { dir: '/pki', expiryWarningDays: 60 } }))).certificates!.warnDays).toBe(60);
  });

  test('no upstream.crt without grpc-proxies; the backup container presents the client certificate', () => {
    const t = buildTopology(tlsSpec({ secondaries: 0, backup: {} }));
    const list = expectationOf(t).certificates!.files;
    expect(list.map((f) => f.name)).not.toContain('upstream.crt');
    expect(list.find((f) => f.name === 'client.crt')!.members).toEqual(['ex-backup']);
  });

  test('without TLS the hook input has no certificates key at all (stacks without TLS keep their input)', () => {
    expect('certificates' in expectationOf(buildTopology(validateSpec({ name: 'plain' })))).toBe(false);
  });

  test('paths are mapped with the TLS paths (to the stack directory), and an expectation without the list still parses', () => {
    const mapped = withTlsPaths(e, (p) => `assets/${p.slice(1)}`);
    expect(mapped.certificates!.files.every((f) => f.path.startsWith('assets/pki/'))).toBe(true);
    const { certificates: _dropped, ...older } = e;
    expect(parseExpectation(JSON.parse(JSON.stringify(older)), 'older').certificates).toBeUndefined();
    expect(parseExpectation(JSON.parse(JSON.stringify(e)), 'this').certificates).toEqual(e.certificates);
  });

  test('a bad tls.expiryWarningDays is one line naming the field', () => {
    expect(() => tlsSpec({ tls: { dir: '/pki', expiryWarningDays: -1 } })).toThrow(/tls\.expiryWarningDays: must be 0 or more/);
  });
});

describe('when certificates expire, judged', () => {
  test('far from expiry: every certificate ok, members as they serve them, no problem or warning', () => {
    const v = judgeExpiry(
      observed(() => 800),
      30,
    );
    expect(v.problems).toEqual([]);
    expect(v.warnings).toEqual([]);
    expect(v.certificates.map((c) => [c.file, c.state, c.source, c.daysLeft])).toEqual([
      ['ca.crt', 'ok', 'file', 1000],
      ['ex-primary-1.crt', 'ok', 'served', 800],
      ['ex-primary-2.crt', 'ok', 'served', 800],
      ['ex-primary-3.crt', 'ok', 'served', 800],
      ['ex-secondary-1.crt', 'ok', 'served', 800],
      ['client.crt', 'ok', 'file', 800],
      ['upstream.crt', 'ok', 'file', 800],
    ]);
  });

  test('within the warning days: a warning naming the file, the member and the day, and what to do', () => {
    const v = judgeExpiry(
      observed((n) => (n === 'ex-primary-2.crt' ? 12.5 : 800)),
      30,
    );
    expect(v.problems).toEqual([]);
    expect(v.warnings).toEqual([
      {
        subject: 'ex-primary-2',
        message: `the server and peer certificate ex-primary-2.crt, served at https://127.0.0.1:12, expires on ${inDays(12.5)}, in 12 days; renew: etcd-cluster pki renew, cdktf synth, etcd-cluster rollout`,
      },
    ]);
    expect(v.certificates.find((c) => c.file === 'ex-primary-2.crt')!.state).toBe('expiring');
    // The warning days are a setting: 10 days says nothing of 12.
    expect(
      judgeExpiry(
        observed((n) => (n === 'ex-primary-2.crt' ? 12.5 : 800)),
        10,
      ).warnings,
    ).toEqual([]);
  });

  test('expired: a problem naming the file and the member (or the verifier, the proxies, the cluster for the CA)', () => {
    const v = judgeExpiry(
      observed((n) => (['ex-primary-3.crt', 'client.crt', 'upstream.crt'].includes(n) ? -1 : 800)),
      30,
    );
    expect(v.problems.map((p) => [p.subject, p.message.replace(/ on \S+;.*/, '')])).toEqual([
      ['ex-primary-3', 'the server and peer certificate ex-primary-3.crt, served at https://127.0.0.1:12, expired'],
      ['verifier', "the verifier's client certificate client.crt expired"],
      ['ex-secondary-1', "the grpc-proxies' certificate towards the primaries upstream.crt expired"],
    ]);
    expect(v.certificates.filter((c) => c.state === 'expired').map((c) => c.daysLeft)).toEqual([-1, -1, -1]);
  });

  test('the CA: each certificate of a bundle on its own, and an expiring CA says to replace the CA', () => {
    const o = observed(() => 800);
    const ca = o.files.find((f) => f.use === 'ca')!;
    (ca as { certificates: CertificateSeen[] }).certificates = [cert(inDays(20), 'a'.repeat(16), 'CN=old'), cert(inDays(1600), 'b'.repeat(16), 'CN=new')];
    const v = judgeExpiry(o, 30);
    expect(v.certificates.filter((c) => c.file === 'ca.crt').map((c) => [c.subject, c.state])).toEqual([
      ['CN=old', 'expiring'],
      ['CN=new', 'ok'],
    ]);
    expect(v.warnings).toEqual([
      {
        subject: 'cluster',
        message: expect.stringMatching(/^the CA ca\.crt \(CN=old\) expires on .*, in 20 days; replace the CA: etcd-cluster pki rotate-ca/),
      },
    ]);
  });

  test('a member that does not answer is judged by its file; one that serves another certificate than its file is a warning', () => {
    const o = observed(() => 800, false);
    expect(judgeExpiry(o, 30).certificates.find((c) => c.file === 'ex-primary-1.crt')).toMatchObject({ source: 'file', state: 'ok' });
    const renewed = observed(() => 800);
    (renewed.served[0] as { certificate: CertificateSeen }).certificate = cert(inDays(5), 'c'.repeat(16));
    const v = judgeExpiry(renewed, 30);
    expect(v.warnings.map((w) => `${w.subject}: ${w.message}`)).toEqual([
      expect.stringMatching(/^ex-primary-1: the server and peer certificate ex-primary-1\.crt, served at .*, expires on .*, in 5 days/),
      expect.stringMatching(
        /^ex-primary-1: serves another certificate than ex-primary-1\.crt \(expiring .*, the file .*\); roll it out: cdktf synth, etcd-cluster rollout$/,
      ),
    ]);
  });

  test('a file that cannot be read is unreadable, and a warning', () => {
    const o = observed(() => 800);
    const client = o.files.findIndex((f) => f.name === 'client.crt');
    (o.files as unknown[])[client] = { ...o.files[client], certificates: undefined, error: 'cannot read /pki/client.crt: ENOENT' };
    const v = judgeExpiry(o, 30);
    expect(v.certificates.find((c) => c.file === 'client.crt')).toMatchObject({ state: 'unreadable', error: 'cannot read /pki/client.crt: ENOENT' });
    expect(v.warnings).toEqual([{ subject: 'verifier', message: 'certificate client.crt: cannot read /pki/client.crt: ENOENT' }]);
  });
});

describe('the verdict and its printing', () => {
  /** A healthy 3+1 cluster as observe() records it, with these certificates. */
  const look = (certificates: CertificatesObservation): Observation => {
    const live = e.target.primaries.map((p, k) => ({ ID: String(101 + k), name: p.name, peerURLs: [p.peerUrl], clientURLs: [p.clientUrl], isLearner: false }));
    return {
      primaries: e.target.primaries.map((p, k) => ({
        name: p.name,
        answer: { clusterId: '7', memberId: String(101 + k), leader: '101', raftIndex: '9', members: live },
      })),
      probe: { writer: e.target.primaries[0].name, value: 'v', reads: Object.fromEntries(e.target.primaries.map((p) => [p.name, { value: 'v' }])) },
      registrations: { list: e.secondaries.map((s) => ({ key: s.registrationKey!, ttlSeconds: 9 })) },
      secondaryReads: Object.fromEntries(e.secondaries.map((s) => [s.name, { value: 'v' }])),
      certificates,
    };
  };
  const report = (o: Observation, warnDays?: number): Report => ({ ...judge(e, o, { warnDays }), attempts: 1, elapsedMs: 100 });
  const printed = (r: Report, lead: 'verdict' | 'members') => {
    let out = '';
    new TablePrinter((t) => (out += t)).report(r, lead);
    return out;
  };

  test('a warning does not fail: ok, exit 0, and the hook prints it on a line of its own', () => {
    const r = report(look(observed((n) => (n === 'client.crt' ? 3 : 800))));
    expect([r.ok, exitOfReport(r)]).toEqual([true, 0]);
    const out = printed(r, 'verdict');
    expect(out).toMatch(
      /^cluster ex: matches the spec \(1 look, 0\.1s\)\nwarning: verifier: the verifier's client certificate client\.crt expires on \S+, in 3 days; renew: /,
    );
    // One that needs attention: the whole table follows.
    expect(out).toMatch(/\nCERTIFICATE +USE +PRESENTED BY +EXPIRES +STATE +SEEN +SUBJECT\n/);
    expect(out).toMatch(/\nclient\.crt +client \(verifier\) +- +2027-03-04 \(3d\) +expiring +file +CN=client\.crt\n/);
    // The warning days given on the command line win over the spec's.
    expect(report(look(observed((n) => (n === 'client.crt' ? 3 : 800))), 0).warnings).toEqual([]);
  });

  test('all well: verify prints one line naming the first to expire', () => {
    const out = printed(report(look(observed((n) => (n === 'ex-primary-1.crt' ? 400 : 800)))), 'verdict');
    expect(out).toBe('cluster ex: matches the spec (1 look, 0.1s)\ncertificates: 7; the first to expire is ex-primary-1.crt on 2028-04-04, in 400 days\n');
  });

  test('an expired certificate fails with exit 1, even with no member answering', () => {
    const o = look(observed((n) => (n === 'ex-primary-2.crt' ? -3 : 800)));
    const r = report(o);
    expect([r.ok, exitOfReport(r)]).toEqual([false, 1]);
    expect(r.problems.map((p) => p.subject)).toEqual(['ex-primary-2']);
    const none = report({
      primaries: e.target.primaries.map((p) => ({ name: p.name, error: 'ECONNREFUSED' })),
      secondaryReads: {},
      certificates: o.certificates,
    });
    expect([none.reachable, exitOfReport(none)]).toEqual([false, 1]);
    const nothing = report({ primaries: e.target.primaries.map((p) => ({ name: p.name, error: 'ECONNREFUSED' })), secondaryReads: {} });
    expect(exitOfReport(nothing)).toBe(3);
  });

  test('members: a CERT-EXPIRES column for each member, then every certificate', () => {
    const r = report(look(observed(() => 800)));
    const table = membersTable(r);
    expect(table.split('\n')[0]).toMatch(/ TTL\/INDEX +CERT-EXPIRES$/);
    expect(table).toMatch(/\nex-primary-1 .* raft 9 +2029-05-09 \(800d\)\n/);
    expect(table).toMatch(/\nex-secondary-1 .* 9s +2029-05-09 \(800d\)\n/);
    expect(printed(r, 'members')).toBe(table + '\n' + certificatesTable(r.certificates!));
    expect(certificatesTable(r.certificates!).split('\n')[1]).toMatch(/^ca\.crt +CA \(trusted by all\) +- +2029-11-25 \(1000d\) +ok +file +CN=ca\.crt$/);
    // Without TLS: no such column, no table.
    expect(membersTable({ members: r.members.map(({ certificateExpires: _a, certificateDaysLeft: _b, ...m }) => m) })).not.toMatch(/CERT-EXPIRES/);
  });

  test('--json carries the certificates and the warnings', () => {
    let out = '';
    const r = report(look(observed((n) => (n === 'ex-primary-1.crt' ? 5 : 800))));
    new JsonPrinter((t) => (out += t)).report(r);
    const parsed = JSON.parse(out);
    expect(parsed.certificates).toHaveLength(7);
    expect(parsed.warnings).toEqual([{ subject: 'ex-primary-1', message: expect.stringMatching(/in 5 days/) }]);
    expect(parsed.members[0]).toMatchObject({ name: 'ex-primary-1', certificateExpires: inDays(5), certificateDaysLeft: 5 });
  });
});

describe('etcd-cluster verify and members on files, with nothing listening', () => {
  let specFile: string;
  beforeAll(async () => {
    const dir = scratchDir('expiry-cli');
    mkdirSync(join(dir, 'pki'));
    specFile = join(dir, 'cluster.json');
    // Ports 1 and 11 on loopback: nothing listens, and they are below the 10000 and up that integration runs
    // draw and publish, so that a cluster of a run beside this one never answers here.
    const spec = { name: 'exc', primaries: 1, ports: { primaryBase: 1, secondaryBase: 11 }, tls: { dir: 'pki', expiryWarningDays: 40 } };
    writeFileSync(specFile, JSON.stringify(spec));
    const t = buildTopology(validateSpec({ ...spec, tls: { dir: join(dir, 'pki') } }));
    await ensurePki(t.tls!.dir, t.tls!.nodes, 30);
    // The verifier's certificate expired yesterday.
    const made = await issueLeaf(
      await issuingCa(t.tls!.dir),
      { file: 'client', cn: CLIENT_CN, dns: [], ips: [] },
      { notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) },
    );
    writeFileSync(join(t.tls!.dir, 'client.crt'), made.cert);
    writeFileSync(join(t.tls!.dir, 'client.key'), made.key, { mode: 0o600 });
  });

  test('verify: exit 1 at once (no waiting for an expired certificate), naming the file; the member warns from 40 days', async () => {
    const started = Date.now();
    const r = await run(process.execPath, [BIN, 'verify', '--spec', specFile, '--timeout', '30']);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.stdout).toMatch(
      /\n {2}- verifier: the verifier's client certificate client\.crt expired on \S+; renew: etcd-cluster pki renew, cdktf synth, etcd-cluster rollout\n/,
    );
    expect(r.stdout).toMatch(/\nwarning: exc-primary-1: the server and peer certificate exc-primary-1\.crt expires on \S+, in 29 days/);
    expect(r.stdout).toMatch(/\nclient\.crt +client \(verifier\) +- +\S+ \(expired\) +expired +file /);
  });

  test('members --json: the same, and --warn-days 0 drops the warning', async () => {
    const r = await run(process.execPath, [BIN, 'members', '--spec', specFile, '--json', '--warn-days', '0']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.warnings).toEqual([]);
    // One primary and no grpc-proxy: no upstream.crt.
    expect(report.certificates.map((c: { file: string; state: string }) => `${c.file} ${c.state}`)).toEqual([
      'ca.crt ok',
      'exc-primary-1.crt ok',
      'client.crt expired',
    ]);
  });

  test('a bad --warn-days is one line, exit 2', async () => {
    const r = await run(process.execPath, [BIN, 'verify', '--spec', specFile, '--warn-days', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`etcd-cluster: option '--warn-days <days>' argument 'soon' is invalid. expected whole days from 0 to 3650, got "soon"\n`);
  });
});
