#!/usr/bin/env node
// Says in plain lines what a synthesized stack (cdk.tf.json) puts on the Docker engine: each container with
// its role, image and published ports, then the volumes and networks. scripts/up.sh prints it before it
// asks whether to deploy.
//
//   node scripts/describe-stack.js cdktf.out/stacks/demo/cdk.tf.json
'use strict';
const { readFileSync } = require('node:fs');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node scripts/describe-stack.js <stack>/cdk.tf.json\n');
  process.exit(2);
}
const tf = JSON.parse(readFileSync(file, 'utf8'));
const resources = tf.resource ?? {};
const images = new Map(Object.entries(resources.docker_image ?? {}).map(([id, r]) => [id, r.name]));
/** `${docker_image.cluster_image_ABC.image_id}` -> the image's name; a plain reference stays as it is. */
const imageOf = (ref) => {
  const m = /^\$\{docker_image\.([^.]+)\.(image_id|name)\}$/.exec(String(ref));
  return m ? (images.get(m[1]) ?? ref) : ref;
};
const labelOf = (c, key) => (c.labels ?? []).find((l) => l.label === key)?.value;

const rows = Object.values(resources.docker_container ?? {})
  .map((c) => ({
    name: c.name,
    role: labelOf(c, 'cdktf-etcd-cluster.role') ?? (/-backup$/.test(c.name) ? 'backup' : 'one-shot'),
    image: imageOf(c.image),
    ports: (c.ports ?? []).map((p) => `${p.ip ?? '0.0.0.0'}:${p.external}`).join(' ') || '-',
  }))
  .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
const width = (key) => Math.max(key.length, ...rows.map((r) => r[key].length));
const line = (r) => [r.name.padEnd(width('name')), r.role.padEnd(width('role')), r.image.padEnd(width('image')), r.ports].join('   ');
const out = [line({ name: 'CONTAINER', role: 'ROLE', image: 'IMAGE', ports: 'PUBLISHED ON' }), ...rows.map(line)];
const names = (type) => Object.values(resources[type] ?? {}).map((r) => r.name);
out.push(`volumes: ${names('docker_volume').join(', ') || '-'}`);
out.push(`networks: ${names('docker_network').join(', ') || '-'}`);
process.stdout.write(`${out.join('\n')}\n`);
