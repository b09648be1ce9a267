/**
 * `etcd-cluster network create | remove`: the cluster's Docker networks. The network step of the stack (a
 * terraform_data per Docker host) runs them with the network in its environment; a person runs them on
 * every network of a synthesized stack, chosen as for every command (`--stack`, `--spec`, ./cluster.yaml),
 * e.g. to bring back a network deleted out of band (the next deploy then replaces the containers onto it).
 */
import { NETWORK_DOCKER_ENV, NETWORK_ENV, parseNetwork, parseNetworkDocker } from '../../contract/network';
import { SynthesizedStack, type StackNetwork } from '../../contract/stack';
import { defineCommand } from '../command';

const GROUP = "make or remove the cluster's Docker networks: network create | remove (run by the network step)";

function networkCommand(verb: 'create' | 'remove', description: string) {
  return defineCommand({
    path: ['network', verb],
    groupDescription: GROUP,
    description,
    async run(ctx) {
      const env = ctx.io.env;
      // The step's environment names one network; else every network of the stack chosen by the CLI's one
      // rule (--stack, --spec, ./cluster.yaml's stack, the one stack), said on stderr.
      const steps: StackNetwork[] = env[NETWORK_ENV]
        ? [{ def: parseNetwork(env[NETWORK_ENV], NETWORK_ENV), docker: parseNetworkDocker(env[NETWORK_DOCKER_ENV], NETWORK_DOCKER_ENV) }]
        : SynthesizedStack.read(ctx.opts.stack ?? (await ctx.stack()).dir).networks();
      const { ensureNetwork, removeNetwork } = await import('../../runtime/network');
      const results = [];
      for (const s of steps) results.push(verb === 'create' ? await ensureNetwork(s.def, s.docker, env) : await removeNetwork(s.def, s.docker, { env }));
      const lines = results.map((r) => `${r.network}: ${r.action} on ${r.where}${r.id ? ` (id ${r.id.slice(0, 12)})` : ''}${r.reason ? `: ${r.reason}` : ''}`);
      ctx.printer.result(lines.join('\n'), results);
    },
  });
}

export const networkCreate = networkCommand('create', 'make the network unless it exists as the spec says (a network of that name that differs is refused)');
export const networkRemove = networkCommand('remove', "remove the network, once its containers are gone (one that is not the cluster's is left alone)");
