/**
 * Which etcd version a rollout goes to: the version of the primaries' image, as the model read it from the
 * tag into the target, and never the tag of another image of the stack. A cluster whose secondaries are an
 * application with its own version tag (the Easegress or EMQX pattern) once got an upgrade check against
 * that application's version.
 */
import { parseExpectation } from '../lib/contract';
import { plannedChanges, versionCheck } from '../lib/runtime/rollout';
import { synthStack } from './helpers/synth';

/** A stack of 3 etcd primaries and 2 application secondaries tagged 9.1.0, and the expectation its hook carries. */
function walletStack(image: string) {
  const tf = synthStack({
    name: 'wallet',
    primaries: 3,
    secondaries: 2,
    image,
    secondary: { image: 'example/wallet:9.1.0', command: ['/app/wallet', '--etcd={{endpoints}}'] },
  });
  const hook = Object.values(tf.resource.terraform_data).find((r) => (r as { input?: { kind?: string } }).input?.kind === 'cdktf-etcd-cluster/expectation');
  return { tf, e: parseExpectation((hook as { input: unknown }).input, 'cdk.tf.json') };
}

test("application secondaries with a higher version tag do not make the primaries' upgrade look like a jump", () => {
  const { tf, e } = walletStack('gcr.io/etcd-development/etcd:v3.5.21');
  // The trap is there: the stack has an image tagged 9.1.0 beside etcd's.
  expect(Object.values(tf.resource.docker_image).map((i) => i.name)).toEqual(['gcr.io/etcd-development/etcd:v3.5.21', 'example/wallet:9.1.0']);
  expect(versionCheck(e.target, ['3.5.21', '3.5.21', '3.5.21'])).toEqual({ from: '3.5.21', to: '3.5.21', problem: undefined });
  expect(versionCheck(e.target, ['3.4.23', '3.4.23', '3.4.23'])).toEqual({ from: '3.4.23', to: '3.5.21', problem: undefined });
});

test("one minor release ahead from the hop's floor passes; below the floor, two ahead and a downgrade are refused, from the lowest live version", () => {
  const { e } = walletStack('cdktf-etcd-cluster/etcd:3.6.16-local');
  expect(versionCheck(e.target, ['3.5.35', '3.5.35', '3.5.35']).problem).toBeUndefined();
  expect(versionCheck(e.target, ['3.5.35', '3.5.21', '3.5.35']).problem).toBe(
    'refusing to upgrade wallet from etcd 3.5.21 to 3.6.16: etcd 3.6 needs every member on 3.5.26 or later; first 3.5.21 -> the newest 3.5 patch (3.5.26 or later), then 3.6.16',
  );
  expect(versionCheck(e.target, ['3.6.16', '3.4.23', '3.5.21']).problem).toBe(
    'refusing to upgrade wallet from etcd 3.4.23 to 3.6.16: etcd upgrades one minor release at a time; first 3.4 -> 3.5 (the newest 3.5 patch: 3.6 needs 3.5.26 or later)',
  );
  const back = walletStack('gcr.io/etcd-development/etcd:v3.5.21').e;
  expect(versionCheck(back.target, ['3.6.16', '3.6.16', '3.6.16']).problem).toMatch(/^refusing to roll wallet back from etcd 3\.6\.16 to 3\.5\.21: /);
});

test('an image whose tag names no version is said, not checked', () => {
  const { e } = walletStack('example/etcd:latest');
  expect(versionCheck(e.target, ['3.5.21'])).toEqual({
    from: '3.5.21',
    note: "the primaries' image (example/etcd:latest) names no etcd version; the upgrade path is not checked",
  });
});

test("what a rollout shows of Terraform's plan: each changed resource's action, reads and no-ops left out", () => {
  const change = (address: string, actions: string[]) => ({ address, type: address.split('.')[0], change: { actions } });
  expect(
    plannedChanges({
      resource_changes: [
        change('docker_container.a', ['delete', 'create']),
        change('docker_container.b', ['create', 'delete']),
        change('terraform_data.c', ['update']),
        change('docker_volume.d', ['create']),
        change('docker_container.e', ['delete']),
        change('terraform_data.f', ['forget']),
        change('docker_network.g', ['no-op']),
        change('data.h', ['read']),
      ],
    }),
  ).toEqual([
    { address: 'docker_container.a', action: 'replace' },
    { address: 'docker_container.b', action: 'replace' },
    { address: 'terraform_data.c', action: 'update' },
    { address: 'docker_volume.d', action: 'create' },
    { address: 'docker_container.e', action: 'destroy' },
    { address: 'terraform_data.f', action: 'forget' },
  ]);
  expect(plannedChanges({})).toEqual([]);
});
