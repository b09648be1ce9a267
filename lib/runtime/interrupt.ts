/**
 * Ctrl-C during a command that changes a cluster step by step (`recover`). Without a handler Node ends at
 * once, and what a step had started goes on without it: a one-off etcd left running on a member's volume
 * (then killed by the next run, an unclean stop), a Terraform run orphaned, the lock file left behind.
 *
 * While `trapInterrupts` is in force, a step registers what must be finished when it is interrupted
 * (`onInterrupt`: stop a one-off container cleanly and remove it, let Terraform end its run) and unregisters
 * it when done. The first SIGINT or SIGTERM runs what is registered, then the caller's last words, and ends
 * the process as interrupted (exit code 128 + the signal's number, as a shell reports it); a second one ends
 * it at once. What the command recorded before (its state file) is what the next run continues from.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

type Cleanup = () => Promise<unknown>;

const pending = new Set<Cleanup>();
/** Set by the first signal while a trap is in force: from then on only the registered steps act. */
let stopping = false;

/** Whether an interrupt is being handled: the command's own flow must then leave the field to the registered steps. */
export function interrupted(): boolean {
  return stopping;
}

/**
 * For the command's own flow once a step failed: when that failure is the interrupt's doing (a one-off
 * stopped, Terraform ended), it never settles, and the process ends as the trap decides; otherwise it returns.
 */
export async function unlessInterrupted(): Promise<void> {
  if (stopping) await new Promise<never>(() => undefined);
}

/** Registers what to finish if the command is interrupted while this step runs; returns its removal. */
export function onInterrupt(cleanup: Cleanup): () => void {
  pending.add(cleanup);
  return () => {
    pending.delete(cleanup);
  };
}

export interface TrapOptions {
  /** Progress lines (stderr). */
  readonly say: (line: string) => void;
  /** Runs after the registered steps: release a lock, say how to continue. */
  readonly last: () => void;
  /** How the process ends. @default process.exit */
  readonly exit?: (code: number) => void;
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

/** Handles SIGINT and SIGTERM until the returned function is called. */
export function trapInterrupts(opts: TrapOptions): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let interrupted = false;
  const handler = (signal: keyof typeof SIGNALS) => {
    const code = 128 + SIGNALS[signal];
    if (interrupted) {
      exit(code);
      return;
    }
    interrupted = true;
    stopping = true;
    const steps = [...pending];
    opts.say(
      `interrupted (${signal})${steps.length ? `: finishing ${steps.length} step${steps.length > 1 ? 's' : ''} in flight first (again to end at once)` : ''}`,
    );
    void Promise.allSettled(steps.map((c) => c())).then(() => {
      try {
        opts.last();
      } finally {
        exit(code);
      }
    });
  };
  const handlers = (Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]).map((signal) => {
    const h = () => handler(signal);
    process.on(signal, h);
    return [signal, h] as const;
  });
  return () => {
    for (const [signal, h] of handlers) process.off(signal, h);
    stopping = false;
  };
}

/**
 * A child in a process group of its own, so that a Ctrl-C at the terminal does not reach it directly: while
 * a trap is in force, an interrupt sends it one SIGINT (Terraform ends its run cleanly on the first, and
 * aborts on a second) and waits for it to end.
 */
export function spawnInterruptible(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; shell?: boolean },
): ChildProcessByStdio<null, Readable, Readable> {
  const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const closed = new Promise<void>((resolvePromise) => child.once('close', () => resolvePromise()));
  const off = onInterrupt(() => {
    try {
      if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGINT');
    } catch {
      // gone already
    }
    return closed;
  });
  child.once('close', off);
  child.once('error', off);
  return child;
}

/** A shell command (a user's synth command), interruptible: its exit code and its output, stdout and stderr together. */
export function shell(command: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawnInterruptible(command, [], { shell: true, env: env ?? process.env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}
