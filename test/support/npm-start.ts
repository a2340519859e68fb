import * as child from "node:child_process";

/** `npm start` running in its own process group, with what it printed so far. */
export interface Started {
  process: child.ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr, or rejects after `ms`. */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  /**
   * Ctrl-C: SIGINT to the whole group, as a terminal sends it. Resolves with npm's exit
   * code, which is null when npm itself was ended by the signal.
   */
  interrupt(): Promise<number | null>;
}

export function npmStart(cwd: string, env: NodeJS.ProcessEnv): Started {
  const proc = child.spawn("npm", ["start", "--silent"], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  let err = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  proc.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));

  return {
    process: proc,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern, ms) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`npm start did not print ${pattern} within ${ms} ms:\n${err}`));
        }, ms);
        const poll = setInterval(() => {
          const match = err.match(pattern);
          if (match) {
            clearInterval(poll);
            clearTimeout(deadline);
            resolve(match);
          }
        }, 50);
      }),
    interrupt: async () => {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
        try {
          process.kill(-proc.pid, "SIGINT");
        } catch {
          // The group is already gone.
        }
      }
      return exited;
    },
  };
}
