/**
 * Renewing certificates and replacing the CA, without Docker: the PKI directory through `pki renew` and the
 * three phases of `pki rotate-ca` (files, keys, modes, who issued what, what synthesis accepts in each
 * phase), every phase command refused out of order, the live check on recorded container files, and the
 * CLI's one-line refusals.
 */
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dropOldCa, ensurePki, reissueFromNewCa, renewPki, trustNewCa } from '../lib/runtime/pki';
import {
  buildTopology,
  checkPki,
  liveTrustOf,
  notRolledOut,
  outOfOrder,
  pemCertificates,
  pkiContainersOf,
  readPkiState,
  ROTATION_STEPS,
  validateSpec,
  type ContainerFiles,
  type PkiNode,
  type RotationPhase,
} from '../lib/model';
import { untarFirst } from '../lib/runtime/member-data';
import { REPO_ROOT, run, scratchDir } from './helpers/synth';

jest.setTimeout(60_000);
const BIN = join(REPO_ROOT, 'bin', 'etcd-cluster.js');

const specOf = (dir: string) => validateSpec({ name: 'rot', primaries: 3, secondaries: 1, backup: {}, tls: { dir } });
const LEAVES = ['rot-primary-1', 'rot-primary-2', 'rot-primary-3', 'rot-secondary-1', 'client', 'upstream'];

async function freshPki(): Promise<{ dir: string; nodes: PkiNode[] }> {
  const dir = join(scratchDir('rot'), 'pki');
  const t = buildTopology(specOf(dir));
  await ensurePki(dir, t.tls!.nodes);
  return { dir, nodes: t.tls!.nodes };
}

const certOf = (dir: string, file: string) => new X509Certificate(readFileSync(join(dir, file)));
const bundleOf = (dir: string) => pemCertificates(readFileSync(join(dir, 'ca.crt'), 'utf8')).map((p) => new X509Certificate(p));
const issued = (dir: string, leaf: string, ca: X509Certificate) => certOf(dir, `${leaf}.crt`).verify(ca.publicKey);
const mode = (dir: string, file: string) => (statSync(join(dir, file)).mode & 0o777).toString(8);
const fingerprints = (dir: string) => Object.fromEntries(LEAVES.map((l) => [l, certOf(dir, `${l}.crt`).fingerprint256]));
const keys = (dir: string) => Object.fromEntries(LEAVES.map((l) => [l, readFileSync(join(dir, `${l}.key`), 'utf8')]));

describe('pki renew', () => {
  test('new certificates and new keys (0600) for every member, the client and the proxies, from the same CA', async () => {
    const { dir, nodes } = await freshPki();
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const caKey = readFileSync(join(dir, 'ca.key'), 'utf8');
    const [before, keysBefore] = [fingerprints(dir), keys(dir)];
    const renewed = await renewPki(dir, nodes, 90);
    expect(renewed).toEqual(LEAVES.map((l) => `${l}.crt`));
    expect([readFileSync(join(dir, 'ca.crt'), 'utf8'), readFileSync(join(dir, 'ca.key'), 'utf8')]).toEqual([ca, caKey]);
    const after = fingerprints(dir);
    const keysAfter = keys(dir);
    for (const l of LEAVES) {
      expect(after[l]).not.toBe(before[l]);
      expect(keysAfter[l]).not.toBe(keysBefore[l]);
      expect(issued(dir, l, bundleOf(dir)[0])).toBe(true);
      expect(mode(dir, `${l}.key`)).toBe('600');
      const days = (Date.parse(certOf(dir, `${l}.crt`).validTo) - Date.now()) / 86_400_000;
      expect(Math.round(days)).toBe(90);
    }
    // Synthesis accepts the result, and nothing is left under a temporary name.
    expect(() => checkPki(dir, nodes)).not.toThrow();
    expect(execFileSync('ls', ['-A', dir]).toString()).not.toMatch(/\.tmp/);
  });

  test('the names each certificate covers stay', async () => {
    const { dir, nodes } = await freshPki();
    const sans = certOf(dir, 'rot-primary-2.crt').subjectAltName;
    await renewPki(dir, nodes);
    expect(certOf(dir, 'rot-primary-2.crt').subjectAltName).toBe(sans);
    // The proxies' certificate has no Common Name (etcd's grpc-proxy refuses one).
    expect(certOf(dir, 'upstream.crt').subject ?? '').not.toMatch(/CN=/);
  });

  test('a directory with no CA is refused with one line', async () => {
    const dir = scratchDir('rot-empty');
    await expect(renewPki(dir, [])).rejects.toThrow(`${dir}: has no ca.crt; make the CA first: etcd-cluster pki --spec <spec>`);
  });
});

describe('pki rotate-ca: three phases', () => {
  test('trust-new, reissue, drop-old: what each writes, who issues, and what synthesis accepts in each phase', async () => {
    const { dir, nodes } = await freshPki();
    const oldCa = bundleOf(dir)[0];
    expect(readPkiState(dir).phase).toBe(0);

    // Phase 1: the new CA trusted next to the old one; the old one still issues.
    await trustNewCa(dir);
    let s = readPkiState(dir);
    expect(s.phase).toBe(1);
    const newCa = certOf(dir, 'ca-new.crt');
    expect(bundleOf(dir).map((c) => c.fingerprint256)).toEqual([oldCa.fingerprint256, newCa.fingerprint256]);
    expect(s.issuing.fingerprint256).toBe(oldCa.fingerprint256);
    expect(newCa.subject).toMatch(/^CN=cdktf-etcd-cluster CA \d{4}-\d\d-\d\d [0-9a-f]{8}$/);
    expect(mode(dir, 'ca-new.key')).toBe('600');
    expect(() => checkPki(dir, nodes)).not.toThrow();
    // A certificate made in phase 1 (a secondary added) still comes from the old CA, like the others.
    await renewPki(dir, nodes);
    expect(LEAVES.every((l) => issued(dir, l, oldCa))).toBe(true);

    // Phase 2: every certificate from the new CA, which now issues; the old one kept and still trusted.
    await reissueFromNewCa(dir, nodes);
    s = readPkiState(dir);
    expect(s.phase).toBe(2);
    expect(s.issuing.fingerprint256).toBe(newCa.fingerprint256);
    expect(LEAVES.every((l) => issued(dir, l, newCa))).toBe(true);
    expect(certOf(dir, 'ca-old.crt').fingerprint256).toBe(oldCa.fingerprint256);
    expect(['ca-new.crt', 'ca-new.key'].some((f) => existsSync(join(dir, f)))).toBe(false);
    expect([mode(dir, 'ca.key'), mode(dir, 'ca-old.key')]).toEqual(['600', '600']);
    expect(bundleOf(dir)).toHaveLength(2);
    expect(() => checkPki(dir, nodes)).not.toThrow();

    // Phase 3: the new CA alone.
    await dropOldCa(dir, nodes);
    s = readPkiState(dir);
    expect(s.phase).toBe(0);
    expect(bundleOf(dir).map((c) => c.fingerprint256)).toEqual([newCa.fingerprint256]);
    expect(existsSync(join(dir, 'ca-old.key'))).toBe(false);
    expect(s.oldCa?.fingerprint256).toBe(oldCa.fingerprint256);
    expect(() => checkPki(dir, nodes)).not.toThrow();
    // And another rollover can start from here.
    await trustNewCa(dir);
    expect(readPkiState(dir).phase).toBe(1);
  });

  test('synthesis refuses a certificate of neither CA, and an expired CA in the bundle', async () => {
    const { dir, nodes } = await freshPki();
    const other = await freshPki();
    await trustNewCa(dir);
    copyFileSync(join(other.dir, 'rot-primary-1.crt'), join(dir, 'rot-primary-1.crt'));
    copyFileSync(join(other.dir, 'rot-primary-1.key'), join(dir, 'rot-primary-1.key'));
    expect(() => checkPki(dir, nodes)).toThrow(`tls.dir: ${join(dir, 'rot-primary-1.crt')} was not issued by ${join(dir, 'ca.crt')}`);
    expect(() => checkPki(dir, nodes, new Date(Date.now() + 1700 * 86_400_000))).toThrow(/ca\.crt \(CA 1 of 2, CN=cdktf-etcd-cluster CA\) expired on/);
  });

  test('drop-old refuses while a certificate in the directory is still from the old CA', async () => {
    const { dir, nodes } = await freshPki();
    const keep = join(scratchDir('rot-keep'), 'client.crt');
    await trustNewCa(dir);
    copyFileSync(join(dir, 'client.crt'), keep);
    copyFileSync(join(dir, 'client.key'), `${keep}.key`);
    await reissueFromNewCa(dir, nodes);
    copyFileSync(keep, join(dir, 'client.crt'));
    copyFileSync(`${keep}.key`, join(dir, 'client.key'));
    await expect(dropOldCa(dir, nodes)).rejects.toThrow(
      `pki rotate-ca drop-old: ${join(dir, 'client.crt')} is not from the new CA; run etcd-cluster pki renew --spec <spec>, roll it out, then drop-old`,
    );
    expect(readPkiState(dir).phase).toBe(2);
    await renewPki(dir, nodes);
    await dropOldCa(dir, nodes);
    expect(readPkiState(dir).phase).toBe(0);
  });

  const PHASES: RotationPhase[] = [0, 1, 2];
  test.each(ROTATION_STEPS.flatMap((step) => PHASES.filter((p) => p !== step.from).map((p) => [step.command, p] as const)))(
    '%s in phase %s is refused with one line saying what comes next',
    (command, phase) => {
      const why = outOfOrder(command, phase)!;
      expect(why.split('\n')).toHaveLength(1);
      expect(why).toMatch(new RegExp(`^pki rotate-ca ${command}: the PKI directory (holds one CA|is in phase ${phase} of a CA rollover)`));
      expect(why).toMatch(
        phase === 0
          ? /Next: etcd-cluster pki rotate-ca trust-new/
          : /Next: roll it out \(cdktf synth, etcd-cluster rollout\), then: etcd-cluster pki rotate-ca /,
      );
    },
  );

  test('each command in its own phase is allowed', () => {
    for (const step of ROTATION_STEPS) expect(outOfOrder(step.command, step.from)).toBeUndefined();
  });

  test('the phase functions refuse out of order too, and change nothing', async () => {
    const { dir, nodes } = await freshPki();
    const listing = () => execFileSync('ls', ['-A', dir]).toString();
    const before = [listing(), readFileSync(join(dir, 'ca.crt'), 'utf8')];
    await expect(reissueFromNewCa(dir, nodes)).rejects.toThrow(/reissue needs phase 1/);
    await expect(dropOldCa(dir, nodes)).rejects.toThrow(/drop-old needs phase 2/);
    expect([listing(), readFileSync(join(dir, 'ca.crt'), 'utf8')]).toEqual(before);
    await trustNewCa(dir);
    const phase1 = [listing(), readFileSync(join(dir, 'ca.crt'), 'utf8'), readFileSync(join(dir, 'ca-new.crt'), 'utf8')];
    await expect(trustNewCa(dir)).rejects.toThrow(/trust-new starts a rollover when none is under way/);
    expect([listing(), readFileSync(join(dir, 'ca.crt'), 'utf8'), readFileSync(join(dir, 'ca-new.crt'), 'utf8')]).toEqual(phase1);
  });

  test('a directory that fits no phase is one line saying what does not fit', async () => {
    const { dir } = await freshPki();
    await trustNewCa(dir);
    writeFileSync(join(dir, 'ca-old.key'), 'x');
    expect(() => readPkiState(dir)).toThrow(
      `${dir}: fits no phase of a CA rollover: both ca-new.key and ca-old.key are present; restore the files of the last phase (etcd-cluster pki status shows the phases)`,
    );
    const other = await freshPki();
    copyFileSync(join(other.dir, 'ca.key'), join(dir, 'ca.key'));
    expect(() => readPkiState(dir)).toThrow(`${dir}: ca.key belongs to none of the CA certificates in ca.crt`);
  });
});

describe('what the live containers hold, judged', () => {
  const t = buildTopology(specOf('/pki'));

  test('every container that gets certificates, on its host, with the files to read', () => {
    expect(pkiContainersOf(t).map((c) => [c.name, c.docker, c.files])).toEqual([
      ['rot-primary-1', null, ['/etc/etcd/pki/ca.crt', '/etc/etcd/pki/node.crt']],
      ['rot-primary-2', null, ['/etc/etcd/pki/ca.crt', '/etc/etcd/pki/node.crt']],
      ['rot-primary-3', null, ['/etc/etcd/pki/ca.crt', '/etc/etcd/pki/node.crt']],
      ['rot-secondary-1', null, ['/etc/etcd/pki/ca.crt', '/etc/etcd/pki/node.crt', '/etc/etcd/pki/upstream.crt']],
      ['rot-backup', null, ['/etc/etcd/pki/ca.crt', '/etc/etcd/pki/node.crt']],
    ]);
  });

  test('reissue waits for every container to trust the new CA; drop-old for every certificate to come from it', async () => {
    const { dir, nodes } = await freshPki();
    /** A container as deployed from the directory as it is now. */
    const deployed = (name: string): ContainerFiles => ({
      name,
      files: {
        '/etc/etcd/pki/ca.crt': readFileSync(join(dir, 'ca.crt'), 'utf8'),
        '/etc/etcd/pki/node.crt': readFileSync(join(dir, name === 'rot-backup' ? 'client.crt' : `${name}.crt`), 'utf8'),
        ...(name === 'rot-secondary-1' ? { '/etc/etcd/pki/upstream.crt': readFileSync(join(dir, 'upstream.crt'), 'utf8') } : {}),
      },
    });
    const names = pkiContainersOf(t).map((c) => c.name);
    const phase0 = names.map(deployed);
    await trustNewCa(dir);
    let s = readPkiState(dir);
    // Not rolled out: nobody trusts the new CA.
    expect(liveTrustOf(s, phase0)[0]).toEqual({
      container: 'rot-primary-1',
      state: 'read',
      trusts: ['old CA'],
      issuedBy: { '/etc/etcd/pki/node.crt': 'old CA' },
    });
    expect(notRolledOut('reissue', liveTrustOf(s, phase0))).toBe(
      'pki rotate-ca reissue: rot-primary-1, rot-primary-2, rot-primary-3, rot-secondary-1, rot-backup do not trust the new CA yet; roll the last phase out first (cdktf synth, etcd-cluster rollout); nothing changed',
    );
    // Half rolled out: the one behind is named.
    const half = [...names.slice(0, 4).map(deployed), phase0[4]];
    expect(notRolledOut('reissue', liveTrustOf(s, half))).toMatch(/^pki rotate-ca reissue: rot-backup does not trust the new CA yet;/);
    // Rolled out, and containers not deployed at all hold nothing back.
    const phase1 = [...names.slice(0, 4).map(deployed), { name: 'rot-backup', absent: true }];
    expect(liveTrustOf(s, phase1)[0].trusts).toEqual(['old CA', 'new CA']);
    expect(notRolledOut('reissue', liveTrustOf(s, phase1))).toBeUndefined();
    // A container that cannot be read holds everything back.
    expect(notRolledOut('reissue', liveTrustOf(s, [...phase1.slice(0, 4), { name: 'rot-backup', error: 'ssh: no route to host' }]))).toBe(
      'pki rotate-ca reissue: cannot read the certificates of rot-backup (ssh: no route to host); nothing changed',
    );

    await reissueFromNewCa(dir, nodes);
    s = readPkiState(dir);
    expect(notRolledOut('drop-old', liveTrustOf(s, phase1))).toBe(
      'pki rotate-ca drop-old: rot-primary-1, rot-primary-2, rot-primary-3, rot-secondary-1 still present certificates of the old CA; roll the last phase out first (cdktf synth, etcd-cluster rollout); nothing changed',
    );
    const phase2 = names.map(deployed);
    expect(liveTrustOf(s, phase2)[3].issuedBy).toEqual({ '/etc/etcd/pki/node.crt': 'new CA', '/etc/etcd/pki/upstream.crt': 'new CA' });
    expect(notRolledOut('drop-old', liveTrustOf(s, phase2))).toBeUndefined();

    await dropOldCa(dir, nodes);
    s = readPkiState(dir);
    // After drop-old, before its roll: the containers still trust the retired CA too.
    expect(liveTrustOf(s, phase2)[0].trusts).toEqual(['retired CA', 'CA']);
    expect(liveTrustOf(s, names.map(deployed))[0]).toMatchObject({ trusts: ['CA'], issuedBy: { '/etc/etcd/pki/node.crt': 'CA' } });
  });

  test('a file is read out of the tar archive Docker hands out', () => {
    const dir = scratchDir('tar');
    writeFileSync(join(dir, 'ca.crt'), 'PEM TEXT\n');
    const tar = execFileSync('tar', ['-C', dir, '-cf', '-', 'ca.crt']);
    expect(untarFirst(tar).toString()).toBe('PEM TEXT\n');
  });
});

describe('the pki commands on the command line', () => {
  let specFile: string;
  let cwd: string;
  beforeAll(() => {
    cwd = scratchDir('rot-cli');
    specFile = join(cwd, 'cluster.json');
    // Ports nothing listens on (1 and 11 on loopback, below the 10000 and up that integration runs draw and
    // publish, so that a cluster of a run beside this one never answers here), and a cluster no Docker host
    // has: every container is absent.
    writeFileSync(specFile, JSON.stringify({ name: 'rotcli', primaries: 1, ports: { primaryBase: 1, secondaryBase: 11 }, tls: { dir: 'pki' } }));
  });
  const cli = (args: string[]) => run(process.execPath, [BIN, ...args], { cwd });

  test('pki renew before any pki: one line, exit 2', async () => {
    const r = await cli(['pki', 'renew', '--spec', specFile]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toBe(`etcd-cluster: ${join(cwd, 'pki')}: has no ca.crt; make the CA first: etcd-cluster pki --spec <spec>\n`);
  });

  test('pki, then renew with --json; status says the phase; each phase command out of order is one line, exit 2', async () => {
    expect((await cli(['pki', '--spec', specFile])).code).toBe(0);
    const renewed = await cli(['pki', 'renew', '--spec', specFile, '--days', '60', '--json']);
    expect(renewed.code).toBe(0);
    expect(JSON.parse(renewed.stdout)).toMatchObject({ renewed: ['rotcli-primary-1.crt', 'client.crt', 'upstream.crt'], days: 60 });
    const status = await cli(['pki', 'status', '--spec', specFile]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /: one CA\n\nCA +SUBJECT +FINGERPRINT +EXPIRES +IN CA\.CRT +ISSUES\nCA +CN=cdktf-etcd-cluster CA +[0-9a-f]{16} +\S+ +yes +yes\n/,
    );
    // No container of that name (or, on a machine without Docker, none that can be read).
    expect(status.stdout).toMatch(/\nrotcli-primary-1 +\((no container|unreadable: .*)\) +-\n/);
    expect(status.stdout).toMatch(/\nnext: etcd-cluster pki rotate-ca trust-new starts a rollover to a new CA\n$/);
    for (const verb of ['reissue', 'drop-old']) {
      const r = await cli(['pki', 'rotate-ca', verb, '--spec', specFile]);
      expect([r.code, r.stdout, r.stderr.split('\n').length]).toEqual([2, '', 2]);
      expect(r.stderr).toMatch(
        new RegExp(`^etcd-cluster: pki rotate-ca ${verb}: the PKI directory holds one CA: no rollover is under way; ${verb} needs phase \\d`),
      );
    }
    const started = await cli(['pki', 'rotate-ca', 'trust-new', '--spec', specFile, '--json']);
    expect(JSON.parse(started.stdout)).toMatchObject({ phase: 1, written: ['ca-new.key', 'ca-new.crt', 'ca.crt'] });
    expect(JSON.parse((await cli(['pki', 'status', '--spec', specFile, '--json'])).stdout)).toMatchObject({
      phase: 1,
      cas: [
        { role: 'old CA', trusted: true, issuing: true },
        { role: 'new CA', trusted: true, issuing: false },
      ],
      containers: [{ container: 'rotcli-primary-1' }],
    });
  });

  test('without a spec, or with one without tls.dir: one line, exit 2', async () => {
    const none = await cli(['pki', 'status']);
    expect([none.code, none.stderr]).toEqual([
      2,
      'etcd-cluster: --spec: give the cluster spec (its tls.dir is the PKI directory unless --out names another)\n',
    ]);
    const plain = join(cwd, 'plain.json');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(plain, JSON.stringify({ name: 'plain' }));
    const r = await cli(['pki', 'renew', '--spec', plain]);
    expect([r.code, r.stderr]).toEqual([2, `etcd-cluster: ${plain}: has no tls.dir; add one, or pass --out <dir>\n`]);
  });
});
