/**
 * `etcd-cluster upgrade-check`: refuse a change of the primaries' etcd version off etcd's upgrade path,
 * before any container changes. The verify hook runs it when Terraform is about to replace the hook, which
 * comes before the primaries' containers are replaced: the deployed cluster from the hook's recorded input
 * (ETCD_CLUSTER_EXPECTED), the new image from the configuration in the directory Terraform runs in.
 */
import { resolve } from 'node:path';
import { SynthesizedStack } from '../../contract/stack';
import { defineCommand } from '../command';

export default defineCommand<{ next?: string }>({
  path: ['upgrade-check'],
  description:
    "refuse a change of the primaries' etcd version off etcd's upgrade path (the verify hook runs it before Terraform replaces any primary); the new version from the stack in --next (default: --stack, else the current directory)",
  json: false,
  options: (cmd) => cmd.option('--next <dir>', 'the stack directory of the configuration being applied'),
  async run(ctx) {
    const { SKIP_UPGRADE_CHECK_ENV, upgradeCheck } = await import('../../runtime/upgrade-check');
    if (ctx.io.env[SKIP_UPGRADE_CHECK_ENV]) {
      ctx.io.out(`upgrade check skipped (${SKIP_UPGRADE_CHECK_ENV} is set)\n`);
      return;
    }
    const deployed = await ctx.cluster();
    const dir = resolve(ctx.io.cwd ?? process.cwd(), ctx.opts.next ?? ctx.opts.stack ?? '.');
    const next = SynthesizedStack.exists(dir)
      ? SynthesizedStack.read(dir)
          .expectations()
          .find((e) => e.target.cluster === deployed.target.cluster)
      : undefined;
    ctx.io.out(`${await upgradeCheck(deployed, next, { password: ctx.password(deployed.target) })}\n`);
  },
});
