/** The spec's durations (`1h`, `30m`, `1m30s`, `500ms`; the schema has checked their form) in milliseconds. */
export function goDurationMs(text: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)].reduce((sum, m) => sum + Number(m[1]) * unit[m[2]], 0);
}
