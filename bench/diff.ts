/** Section 4: how many resources change when secondaries are added or removed, against the ideal. */
import { resourcesOf, synthStack } from '../test/helpers/synth';
import { f, type Bench } from './shared';

export async function benchDiff(bench: Bench): Promise<void> {
  const rows: string[] = [];
  let worst = 0;
  for (const [n, k] of [
    [0, 1],
    [2, 3],
    [10, 10],
    [100, 50],
  ]) {
    const spec = (s: number) => ({ name: 'diff', primaries: 3, secondaries: s });
    const a = resourcesOf(synthStack(spec(n)));
    const b = resourcesOf(synthStack(spec(n + k)));
    const changed = (x: Map<string, unknown>, y: Map<string, unknown>) =>
      [...new Set([...x.keys(), ...y.keys()])].filter((key) => JSON.stringify(x.get(key)) !== JSON.stringify(y.get(key))).length;
    const up = changed(a, b);
    const down = changed(b, a);
    const ideal = k + 1;
    worst = Math.max(worst, up / ideal, down / ideal);
    rows.push(`| ${n} -> ${n + k} -> ${n} | ${up} / ${ideal} | ${down} / ${ideal} |`);
  }
  bench.headlines.push(`diff minimality: ${f(worst, 2)}x ideal`);
  bench.sections.push({
    n: 4,
    text: `## 4. Diff minimality

Method: synthesize 3+N and 3+(N+k) and count resources added, removed or changed in either direction. Ideal:
the k secondary containers plus the verification hook. (Section 6 shows the same with Terraform's plan.)

| secondaries | up: changed / ideal | down: changed / ideal |
| --- | --- | --- |
${rows.join('\n')}

Worst ratio: ${f(worst, 2)} (1.00 is ideal).`,
  });
}
