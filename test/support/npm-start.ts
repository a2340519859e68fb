import * as child from "node:child_process";

/** `npm start` running in its own process group, with what it printed so far. */
export interface Started {
  process: child.ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with npm's exit code, which is null when npm itself was ended by a signal. */
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in stderr, or rejects after `ms`. */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** Sends `signal` to the whole group (npm, the shell, node) without waiting, as a terminal does. */
  signal(signal: NodeJS.Signals): void;
  /** Whether any process of the group is still running: npm, the shell or node. */
  groupAlive(): boolean;
  /**
   * Ctrl-C: SIGINT to the whole group, as a terminal sends it. Resolves with npm's exit
   * code, which is null when npm itself was ended by the signal.
   */
  interrupt(): Promise<number | null>;
}

export interface NpmStartOptions {
  /**
   * npm's `script-shell`. Bash runs a script's single command in its own place (exec), so
   * npm's child is node itself, as with the default shell on macOS. @default npm's, `sh`
   */
  scriptShell?: string;
}

export function npmStart(
  cwd: string,
  env: NodeJS.ProcessEnv,
  options: NpmStartOptions = {},
): Started {
  const shell = options.scriptShell ? [`--script-shell=${options.scriptShell}`] : [];
  const proc = child.spawn("npm", ["start", "--silent", ...shell], {
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
  const signal = (name: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
      try {
        process.kill(-proc.pid, name);
      } catch {
        // The group is already gone.
      }
    }
  };

  return {
    process: proc,
    stdout: () => out,
    stderr: () => err,
    exited,
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
    signal,
    groupAlive: () => {
      if (!proc.pid) return false;
      try {
        // Signal 0 only asks whether the group still has a member.
        process.kill(-proc.pid, 0);
        return true;
      } catch {
        return false;
      }
    },
    interrupt: async () => {
      signal("SIGINT");
      return exited;
    },
  };
}
