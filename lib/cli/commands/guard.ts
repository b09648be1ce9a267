/**
 * `etcd-cluster guard`: run by a cluster's state guard, the first step of its first deploy (and of a deploy
 * whose state lost it). Refuses, in one line, when the Docker hosts run what the stack declares and the state
 * Terraform applies from does not know it (lib/runtime/guard.ts).
 */
import { GUARD_ENV, parseGuard } from '../../contract/guard';
import { defineCommand } from '../command';

export default defineCommand({
  path: ['guard'],
  description:
    "refuse a deploy whose Terraform state does not know the cluster that runs (run by the cluster's state guard, before anything is created, adopted or changed)",
  source: false,
  json: false,
  async run(ctx) {
    const m = parseGuard(ctx.io.env[GUARD_ENV], GUARD_ENV);
    const { guard } = await import('../../runtime/guard');
    ctx.printer.result(await guard(m, { dir: ctx.io.cwd ?? process.cwd(), env: ctx.io.env }), undefined);
  },
});
