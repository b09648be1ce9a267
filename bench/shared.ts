/**
 * What every benchmark target shares: figures (median, min and max), timing a command, the machine's CPU
 * load, the first write a cluster accepts, and Terraform's own event stream. Nothing here passes or fails
 * on time.
 */
import { readFileSync } from 'node:fs';
import { connect } from '../lib/runtime/etcd-client';
import type { Deployment } from '../test/harness/deployment';
import type { DockerApi } from '../test/harness/docker-api';
import { run } from '../test/helpers/synth';

/** One run of the benchmark, as every target sees it: what it was asked for, and where results go. */
export interface Bench {
  /** Runs per measurement (`--runs`). */
  readonly runs: number;
  /** The machine's Docker engine. */
  readonly docker: DockerApi;
  /** One line per result, in the order found: the head of BENCHMARKS.md. */
  readonly headlines: string[];
  /** The sections of BENCHMARKS.md, by number. */
  readonly sections: { n: number; text: string }[];
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], n: s.length };
}
export const f = (x: number, d = 0) => x.toFixed(d);
export const fmt = (s: Stats, d = 0) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
export const med = (xs: number[]) => stats(xs).median;
export const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
export const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Bench clusters are named `bn...`: a test run's sweep of leftover `it...` clusters never touches them. */
export const BENCH_PREFIX = 'bn';
export const HOOK_ENV = 'ETCD_CLUSTER_EXPECTED';

/** Wall time of a command, in milliseconds; throws with its output when it fails. */
export async function timed(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await run(cmd, argv, { ...opts, timeoutMs: 600_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.code}: ${(r.stdout + r.stderr).trim().slice(-600)}`);
  return ms;
}

/** The machine's CPU counters (all cores): busy and total jiffies, from /proc/stat. */
export function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - (fields[4] ?? 0), total };
}
/** The share of the machine's CPU busy (0-100 %) between a `cpuTimes()` and now. */
export function busySince(from: { busy: number; total: number }): number {
  const now = cpuTimes();
  return (100 * (now.busy - from.busy)) / Math.max(1, now.total - from.total);
}
/** The share of the machine's CPU busy while we do nothing for `ms`: what a standing cluster costs. */
export async function idleLoad(ms = 5000): Promise<number> {
  const from = cpuTimes();
  await sleep(ms);
  return busySince(from);
}

/** Tries a put every 20 ms until one succeeds; resolves with the time it did. */
export async function firstWrite(hosts: string[], until: number): Promise<number> {
  const c = connect(hosts, { timeoutMs: 1000 });
  try {
    while (Date.now() < until) {
      try {
        await c.put('/bench/first').value('1');
        return Date.now();
      } catch {
        await sleep(20);
      }
    }
    throw new Error('no write accepted in time');
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Terraform, timed from its own event stream.

export interface TfEvent {
  type: string;
  at: number;
  addr?: string;
  message: string;
}

/** `terraform apply -json`: the wall time, and every event with Terraform's own timestamp. */
export async function applyJson(dep: Deployment): Promise<{ started: number; ended: number; events: TfEvent[] }> {
  const started = Date.now();
  const r = await dep.terraform(['apply', '-input=false', '-auto-approve', '-json'], 1_800_000);
  const ended = Date.now();
  const events: TfEvent[] = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; '@timestamp': string; '@message': string; hook?: { resource?: { addr?: string } } })
    .map((e) => ({ type: e.type, at: Date.parse(e['@timestamp']), addr: e.hook?.resource?.addr, message: e['@message'] }));
  if (r.code !== 0) {
    const errors = events.filter((e) => e.type === 'diagnostic').map((e) => e.message);
    throw new Error(`terraform apply failed: ${errors.join('; ') || r.stderr.slice(-600)}`);
  }
  return { started, ended, events };
}

/** When events of this type (and resource address) happened, by Terraform's own clock. */
export const timesOf = (events: TfEvent[], type: string, addr: RegExp = /./) =>
  events.filter((e) => e.type === type && addr.test(e.addr ?? '')).map((e) => e.at);
export const firstAt = (...a: Parameters<typeof timesOf>) => Math.min(...timesOf(...a));
export const lastAt = (...a: Parameters<typeof timesOf>) => Math.max(...timesOf(...a));
export const HOOK = /verify_hook/;
/**
 * The provider sleeps this long after creating a network before its first read of it (networkReadRefreshDelay
 * in its resource_docker_network_funcs.go), and every container waits for the network it joins.
 */
export const PROVIDER_NETWORK_WAIT_MS = 2000;
export const CONTAINER = /^docker_container\./;

/** The flags of one etcd member started by hand (plain docker run or Compose), as the comparisons use them. */
export const ETCD_ARGS = (name: string, cluster: string, token: string) => [
  '/usr/local/bin/etcd',
  `--name=${name}`,
  '--data-dir=/var/lib/etcd/data',
  '--listen-peer-urls=http://0.0.0.0:2380',
  '--listen-client-urls=http://0.0.0.0:2379',
  `--advertise-client-urls=http://${name}:2379`,
  `--initial-advertise-peer-urls=http://${name}:2380`,
  `--initial-cluster=${cluster}`,
  `--initial-cluster-token=${token}`,
  '--initial-cluster-state=new',
];
