/** The test-side applier refuses what it does not implement, before it touches the engine. */
import { DockerApplier, goDurationNs } from './harness/applier';
import { DockerApi } from './harness/docker-api';
import { scratchDir, synthStack, type TfJson } from './helpers/synth';

// A socket nobody listens on: every case must fail while parsing, before any Docker call.
const applier = () => new DockerApplier({ workDir: scratchDir('applier'), docker: new DockerApi('/nonexistent/docker.sock') });
const base = () => synthStack({ name: 'strict', primaries: 1, secondaries: 1 });
const firstContainer = (tf: TfJson) => Object.values(tf.resource.docker_container)[0];

test.each<[string, (tf: TfJson) => void, string]>([
  ['an unknown resource type', (tf) => (tf.resource.docker_service = { s: { name: 'x' } }), 'applier: resource type docker_service is not implemented'],
  ['an unknown container attribute', (tf) => (firstContainer(tf).privileged = true), 'attribute "privileged" is not implemented'],
  ['an unknown nested attribute', (tf) => ((firstContainer(tf).ports as object[])[0] = { internal: 1, external: 2, ip: '127.0.0.1', protocol: 'tcp', bogus: 1 }), 'attribute "ports.bogus" is not implemented'],
  ['an interpolation other than a reference', (tf) => (firstContainer(tf).hostname = '${upper("x")}'), 'is not implemented (only whole ${type.name.attr} references)'],
  ['a reference to an undeclared resource', (tf) => (firstContainer(tf).image = '${docker_image.nope.image_id}'), 'depends on docker_image.nope, which the config does not declare'],
  ['another provider', (tf) => (tf.provider = { aws: [{}] }), 'applier: provider "aws" is not implemented'],
  ['another docker host', (tf) => (tf.provider = { docker: [{ host: 'ssh://a@b' }] }), 'applier: provider docker host ssh://a@b is not an engine of this harness'],
  ['an aliased host it was not given', (tf) => (tf.provider = { docker: [{ alias: 'h1', host: 'unix:///run/other.sock' }] }), 'applier: provider docker.h1 host unix:///run/other.sock is not an engine of this harness'],
  ['a resource bound to an undeclared provider', (tf) => (firstContainer(tf).provider = 'docker.h9'), 'provider docker.h9 is not declared'],
  ['ssh options', (tf) => (tf.provider = { docker: [{ alias: 'h1', host: 'ssh://a@b', ssh_opts: ['-v'] }] }), 'applier: provider docker attribute "ssh_opts" is not implemented'],
  ['a data source', (tf) => (tf.data = {}), 'applier: top-level "data" is not implemented'],
])('refuses %s', async (_what, edit, message) => {
  const tf = base();
  edit(tf);
  await expect(applier().apply(tf)).rejects.toThrow(message);
});

test('Go durations', () => {
  expect(goDurationNs('5s')).toBe(5e9);
  expect(goDurationNs('1m0s')).toBe(60e9);
  expect(goDurationNs('1m30s')).toBe(90e9);
  expect(goDurationNs('250ms')).toBe(250e6);
  expect(() => goDurationNs('5 seconds')).toThrow('"5 seconds" is not a Go duration');
});
