/**
 * Structured logs: one JSON object per line with `level`, `msg` and domain fields such as
 * `device`, `window`, `readings` and `durationMs`. Lambda sends stdout to CloudWatch; the
 * local mode prints it. Secrets never reach a logger: callers pass facts, not credentials,
 * and `redact` below is a second line of defence for field names that suggest a secret.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written, whatever they hold. */
const SECRET_FIELD = /pass(word)?|secret|token|authorization|ciphertext|sealed|api[-_]?key/i;

export interface LoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Where each line goes. @default process.stdout */
  write?: (line: string) => void;
  /** Clock for the `time` field; omit to leave the time to the log collector. */
  now?: () => number;
  /** Fields added to every line. */
  fields?: LogFields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.fields ?? {};

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < threshold) return;
    const time = options.now ? { time: new Date(options.now()).toISOString() } : {};
    const safe = redact({ ...base, ...fields }) as LogFields;
    write(JSON.stringify({ level, msg, ...time, ...safe }));
  };

  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that keeps its lines in memory, for tests that assert on logs. */
export function memoryLogger(level: LogLevel = "debug"): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level, write: (line) => lines.push(line) });
  return Object.assign(logger, { lines });
}

/** Replaces values of secret-looking fields and turns errors into plain, safe objects. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[deep]";
  if (value instanceof Error) {
    const status = (value as { status?: unknown }).status;
    return { name: value.name, message: value.message, ...(status ? { status } : {}) };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SECRET_FIELD.test(key) ? "[redacted]" : redact(item, depth + 1);
    }
    return out;
  }
  return value;
}
