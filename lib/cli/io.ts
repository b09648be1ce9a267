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
