/**
 * The topology: a validated spec turned into members, as plain data (no cdktf here).
 *
 * Constructs render it into Docker resources; the verifier checks a live cluster against the expectation
 * derived from it (lib/model/expectation.ts). Every name, URL, port and flag is computed here and only
 * here: what all members share in context.ts, the voting members in primaries.ts, the stateless ones (by
 * kind) in secondaries.ts.
 */
import { factsOf } from '../facts';
import type { ClusterSpec } from '../props';
import { CA_CERT, certFile, CLIENT_NAME, keyFile } from '../pki';
import { contextOf, tlsFile } from './context';
import { backupOf, spaceOf } from './backup';
import { primariesOf } from './primaries';
import { secondariesOf } from './secondaries';
import type { Topology } from './types';

export * from './types';
export { primaryName, secondaryName } from './context';
export { KINDS } from './secondaries';
export { BACKUP_DIR, RESTORE_FILE } from './backup';

function gatewayOf(subnet: string): string {
  const [addr] = subnet.split('/');
  const octets = addr.split('.').map(Number);
  octets[3] += 1;
  return octets.join('.');
}

export function buildTopology(spec: ClusterSpec): Topology {
  const ctx = contextOf(factsOf(spec));
  const { primaries, initialCluster, restore } = primariesOf(ctx);
  const secondaries = secondariesOf(ctx, primaries);
  const backup = backupOf(ctx, primaries);
  return {
    name: spec.name,
    hosts: (spec.hosts ?? []).map((h) => ({ name: h.name, docker: h.docker, sshOpts: [...h.sshOpts], address: h.address })),
    token: ctx.token,
    image: spec.image,
    secondaryImage: spec.secondary.image ?? spec.image,
    network: {
      name: `${spec.name}-net`,
      ...(spec.network.subnet ? { subnet: spec.network.subnet, gateway: gatewayOf(spec.network.subnet) } : {}),
    },
    discovery: ctx.discovery,
    initialCluster,
    registryPrefix: ctx.registryPrefix,
    verifyPrefix: ctx.verifyPrefix,
    primaries,
    absentPrimaries: Array.from({ length: 9 - spec.primaries }, (_, k) => spec.primaries + k + 1),
    secondaries,
    verify: { ...spec.verify },
    ...(spec.auth ? { auth: { passwordEnv: spec.auth.passwordEnv } } : {}),
    ...(restore ? { restore } : {}),
    ...(backup ? { backup } : {}),
    space: spaceOf(ctx),
    ...(ctx.tlsDir
      ? {
          tls: {
            dir: ctx.tlsDir,
            // A certificate must also cover the address clients are published on, unless that is a wildcard.
            nodes: [...primaries, ...secondaries].map((n) => {
              const ip = n.host ? n.port.ip : ctx.hostAddress;
              // The backup container reaches the primaries of a single host by their shared name.
              const shared = backup && !spec.hosts && n.role === 'primary' ? [ctx.discovery.primaries] : [];
              return { name: n.name, ips: ip === '127.0.0.1' ? [] : [ip], ...(shared.length ? { dns: shared } : {}) };
            }),
            ca: tlsFile(ctx, CA_CERT),
            clientCert: tlsFile(ctx, certFile(CLIENT_NAME)),
            clientKey: tlsFile(ctx, keyFile(CLIENT_NAME)),
            expiryWarningDays: spec.tls!.expiryWarningDays,
          },
        }
      : {}),
  };
}
