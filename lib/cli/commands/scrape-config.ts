/** `etcd-cluster scrape-config`: a Prometheus scrape configuration for the members' metrics endpoints. */
import type { Expectation } from '../../contract';
import { defineCommand } from '../command';

/** One scrape job per cluster: the primaries and the secondaries as two target groups, labelled. */
export function scrapeConfig(e: Expectation): {
  job_name: string;
  metrics_path: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
} {
  const cluster = e.target.cluster;
  const targets = (list: readonly { metrics?: string | null }[]) => list.flatMap((m) => (m.metrics ? [new URL(m.metrics).host] : []));
  const groups = [
    { targets: targets(e.target.primaries), labels: { cluster, role: 'primary' } },
    { targets: targets(e.secondaries), labels: { cluster, role: 'secondary' } },
  ].filter((g) => g.targets.length);
  return { job_name: `etcd-${cluster}`, metrics_path: '/metrics', static_configs: groups };
}

export default defineCommand({
  path: ['scrape-config'],
  description: 'print a Prometheus scrape configuration for the metrics endpoints (spec: metrics)',
  needs: ['metrics'],
  async run(ctx) {
    const e = await ctx.cluster();
    const config = { scrape_configs: [scrapeConfig(e)] };
    const YAML = await import('yaml');
    ctx.printer.document(
      `# Prometheus scrape configuration for the etcd cluster ${e.target.cluster} (etcd-cluster scrape-config)\n${YAML.stringify(config)}`,
      config,
    );
  },
});
