/**
 * The v2store check's judgement without Docker (lib/runtime/v2store.ts): etcdutl's output as measured on
 * 3.5.35 and 3.6.16 (stdout and stderr as the container's log has them), and the refusal's one line.
 */
import { v2StoreProblem, verdictOf, type V2StoreResult } from '../lib/runtime/v2store';

describe("etcdutl check v2store's verdict", () => {
  test.each([
    [0, 'No custom content found in both v2store and WAL records.\n', '', 'clean', 'No custom content found in both v2store and WAL records.'],
    [1, '', 'Error: detected custom v2 content in WAL records\n', 'custom', 'detected custom v2 content in WAL records'],
    [1, '', 'Error: detected custom content in v2store\n', 'custom', 'detected custom content in v2store'],
    [1, '', 'Error: detected custom v2 content in both v2store and WAL records\n', 'custom', 'detected custom v2 content in both v2store and WAL records'],
    // etcdutl 3.6 has no check command: the check must run with the member's 3.5.
    [
      1,
      '',
      'Error: unknown command "check" for "etcdutl"\nRun \'etcdutl --help\' for usage.\nError: unknown command "check" for "etcdutl"\n',
      'failed',
      'unknown command "check" for "etcdutl" (exit code 1)',
    ],
    [
      127,
      '',
      'exec: "/usr/local/bin/etcdutl": stat /usr/local/bin/etcdutl: no such file or directory\n',
      'failed',
      'exec: "/usr/local/bin/etcdutl": stat /usr/local/bin/etcdutl: no such file or directory (exit code 127)',
    ],
  ])('exit %i, %j %j: %s', (code, stdout, stderr, verdict, reason) => {
    expect(verdictOf(code, `${stdout}${stderr}`)).toEqual({ verdict, reason });
  });
});

describe('the refusal', () => {
  const clean = (member: string): V2StoreResult => ({ member, verdict: 'clean', reason: 'No custom content found in both v2store and WAL records.' });

  test('every primary clean: the upgrade goes ahead', () => {
    expect(v2StoreProblem('demo', '3.5.35', '3.6.16', [clean('demo-primary-1'), clean('demo-primary-2')])).toBeUndefined();
  });

  test("custom data on one primary: refused with etcd's reason", () => {
    expect(
      v2StoreProblem('demo', '3.5.35', '3.6.16', [
        clean('demo-primary-1'),
        { member: 'demo-primary-2', verdict: 'custom', reason: 'detected custom content in v2store' },
      ]),
    ).toBe(
      `refusing to upgrade demo from etcd 3.5.35 to 3.6.16: etcdutl check v2store on demo-primary-2's data: detected custom content in v2store; etcd 3.6 does not start on custom v2 data: remove it first (etcd's 3.5 -> 3.6 upgrade guide, "V2 Store")`,
    );
  });

  test('a check that could not run is refused too, with the way to skip it after checking by hand', () => {
    expect(
      v2StoreProblem('demo', '3.5.35', '3.6.16', [
        clean('demo-primary-1'),
        { member: 'demo-primary-2', verdict: 'failed', reason: 'no etcdutl (exit code 127)' },
      ]),
    ).toBe(
      `refusing to upgrade demo from etcd 3.5.35 to 3.6.16: etcdutl check v2store could not run on demo-primary-2's data: no etcdutl (exit code 127); run it yourself (etcdutl 3.5.26 or later, on the stopped member's data directory or a copy) and, if it finds no custom content, run rollout again with --skip-v2store-check`,
    );
  });

  test('a member without a container (left down by a stopped rollout) is skipped; none checked at all is refused', () => {
    const skipped: V2StoreResult = { member: 'demo-primary-3', verdict: 'skipped', reason: 'it has no container to take the image from' };
    expect(v2StoreProblem('demo', '3.5.35', '3.6.16', [clean('demo-primary-1'), skipped])).toBeUndefined();
    expect(v2StoreProblem('demo', '3.5.35', '3.6.16', [skipped])).toBe(
      `refusing to upgrade demo from etcd 3.5.35 to 3.6.16: etcdutl check v2store could not run on any primary's data (demo-primary-3: it has no container to take the image from)`,
    );
  });
});
