/**
 * `etcd-cluster member stagger`: on a new cluster's first deploy, a founder's volume step waits until the
 * founder before it runs, so that the founders boot one after another instead of waiting on one another
 * (see `PrimaryNode.startsAfter` in the model). It saves time and never fails a deploy: past the message's
 * timeout, or when the founder before has stopped, it says so and lets the deploy go on.
 */
import type { StaggerMessage } from '../contract';
import { DockerEngine } from './docker';
import { retryUntil } from './retry';

/** How often the container is looked at: a Docker inspect, a few ms on a local socket. */
const POLL_MS = 50;
/** The least time one look is given, even at the deadline. */
const LOOK_MS = 1000;

export interface StaggerResult {
  /** running: it runs; stopped: it exists and has stopped (its start failed); timeout: neither in time. */
  readonly outcome: 'running' | 'stopped' | 'timeout';
  readonly waitedMs: number;
  /** What was last seen, when it was not running. */
  readonly detail?: string;
}

type Look = { readonly state: 'running' | 'stopped' | 'waiting'; readonly detail?: string };

/** One look at the container: running; exited or dead (its start failed, or it was stopped); else wait. */
async function look(m: StaggerMessage, env: NodeJS.ProcessEnv): Promise<Look> {
  const c = await new DockerEngine(m.docker, env).container(m.after);
  if (c?.running) return { state: 'running' };
  if (c && (c.status === 'exited' || c.status === 'dead')) return { state: 'stopped', detail: `it is ${c.status}` };
  return { state: 'waiting', detail: c ? `it is ${c.status}` : 'it does not exist yet' };
}

/** Waits until the container `m.after` runs on its Docker host, at most `m.timeoutSeconds`. */
export async function awaitPrevious(m: StaggerMessage, env: NodeJS.ProcessEnv = process.env): Promise<StaggerResult> {
  const started = Date.now();
  const deadline = started + m.timeoutSeconds * 1000;
  const waited = () => Date.now() - started;
  try {
    // A look ends by the deadline, or within LOOK_MS past it (an HTTP call may take 30 s, an ssh one 60 s); a
    // Docker host that fails a look is looked at again. The policy stops one wait before its timeout.
    const last = await retryUntil(() => withDeadline(look(m, env), Math.max(deadline, Date.now() + LOOK_MS)), {
      timeoutMs: m.timeoutSeconds * 1000 + POLL_MS,
      initialDelayMs: POLL_MS,
      maxDelayMs: POLL_MS,
      retryResult: (l) => l.state === 'waiting',
      retryError: () => true,
    });
    return { outcome: last.state === 'waiting' ? 'timeout' : last.state, waitedMs: waited(), ...(last.detail ? { detail: last.detail } : {}) };
  } catch (e) {
    return { outcome: 'timeout', waitedMs: waited(), detail: (e as Error).message.split('\n')[0] };
  }
}

/** The promise, or a rejection once the deadline has passed. */
function withDeadline<T>(p: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Docker did not answer in time')), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The line the step prints. */
export function staggerLine(m: StaggerMessage, r: StaggerResult): string {
  const waited = `${(r.waitedMs / 1000).toFixed(1)} s`;
  if (r.outcome === 'running') return `${m.member}: starts after ${m.after}, which runs (waited ${waited})`;
  if (r.outcome === 'stopped') return `${m.member}: starts without waiting for ${m.after}: ${r.detail}`;
  return `${m.member}: starts without waiting for ${m.after} any longer (${waited}): ${r.detail}`;
}
