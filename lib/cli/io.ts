/** Where the CLI writes, and what it reads of its process: passed in, so that tests run it in-process too. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress then rewrites one line). */
  readonly tty: boolean;
  /** Asks a question on the terminal and returns the answer; absent when there is no terminal to ask. */
  readonly ask?: (question: string) => Promise<string>;
  /** The directory the command runs in. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Asks one question on a terminal. Ctrl-C or Ctrl-D instead of an answer, or the input closing, is no answer
 * (the empty string): readline rejects the question on the first two (which would end the command as an
 * unexpected failure) and leaves it pending forever on the last (the process would end with exit code 0).
 */
export async function askOn(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input, output });
  let answered = false;
  // The line the answer would have ended, so that what follows starts on a line of its own.
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve(answered ? '' : (output.write('\n'), ''))));
  try {
    return await Promise.race([rl.question(question), closed]);
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') return '';
    throw e;
  } finally {
    answered = true;
    rl.close();
  }
}
