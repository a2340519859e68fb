import * as fs from "node:fs";
import * as path from "node:path";
import { createGateway } from "../api/gateway";
import { buildOpenApi } from "../api/openapi";
import { createCanaryClient } from "../canary/client";
import { CanarySimulator } from "../canary/simulator";
import { type PollSummary, runPoll } from "../capture/poll";
import type { Credentials } from "../capture/session";
import { type Clock, systemClock } from "../clock";
import { createLogger } from "../log";
import { createLocalBox } from "../secrets/local";
import { LOCAL_CREDENTIALS, startDynalite } from "../store/dynalite";
import { createDynamo, ensureTables } from "../store/dynamo";
import type { TableNames } from "../store/tables";
import { loadOrCreateApiKey } from "./api-key";
import { ConfigError, readLocalConfig } from "./config";
import { createStopOnSignal } from "./shutdown";

/** Local table names: one machine, one data directory, so fixed names are fine here. */
const LOCAL_TABLES: TableNames = { readings: "readings", metadata: "metadata" };

export interface LocalOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** @default the wall clock */
  clock?: Clock;
  /** Where the start-up banner goes: human text, not log lines. @default stderr */
  say?: (line: string) => void;
  /** Where the JSON log lines go. @default stdout */
  writeLog?: (line: string) => void;
  /** Whether a person is watching: only then does the banner show the API key itself. */
  interactive?: boolean;
}

export interface LocalInstance {
  url: string;
  apiKey: string;
  demo: boolean;
  /** Runs one poll cycle now (runs never overlap). */
  pollNow(): Promise<PollSummary>;
  /**
   * Stops polling, waits for a run in progress, and closes every server; later calls get the
   * first call's result. `waitMs` bounds the wait: after it the run is left unfinished, which
   * is safe because a run moves a device's cursor only after storing its readings.
   * @default waitMs: no bound
   */
  stop(options?: { waitMs?: number }): Promise<{ pollFinished: boolean }>;
}

/**
 * `npm start`: dynalite with its data in DATA_DIR, the tables, the poll cycle at once and
 * then every POLL_INTERVAL seconds, and the read API served by the local API Gateway from
 * the same OpenAPI document and templates that AWS runs. Without Canary credentials it
 * captures from the built-in simulator, in a separate demo database.
 */
export async function startLocal(options: LocalOptions): Promise<LocalInstance> {
  const config = readLocalConfig(options.env, options.cwd);
  const clock = options.clock ?? systemClock;
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const demo = config.credentials === undefined;
  const log = createLogger({
    level: config.logLevel,
    write: options.writeLog,
    now: () => clock.now(),
  });
  const closers: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };

  try {
    if (demo) {
      say("canary-capture: DEMO MODE: no Canary account is configured, so readings come from");
      say(
        "canary-capture: the built-in Canary simulator. Set CANARY_USERNAME and CANARY_PASSWORD,",
      );
      say("canary-capture: or CANARY_TOKEN for a two-factor account, to capture your own devices.");
    }
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

    // Demo data lives in its own database, so it never mixes with a real account's.
    const dbPath = path.join(config.dataDir, demo ? "demo-dynamodb" : "dynamodb");
    fs.mkdirSync(dbPath, { recursive: true, mode: 0o700 });
    const database = await startDynalite({ path: dbPath });
    closers.push(() => database.close());
    const dynamoEndpoint = database.endpoint;
    const dynamo = createDynamo({
      endpoint: dynamoEndpoint,
      region: "local",
      credentials: LOCAL_CREDENTIALS,
    });
    closers.push(async () => dynamo.client.destroy());
    await ensureTables(dynamo.client, LOCAL_TABLES);

    let credentials: Credentials;
    let canaryApiUrl = config.canaryApiUrl;
    if (config.credentials) {
      credentials = config.credentials;
    } else {
      const simulator = new CanarySimulator({ clock });
      canaryApiUrl = await simulator.start();
      closers.push(() => simulator.close());
      credentials = { username: "owner@example.com", password: "correct horse battery staple" };
    }
    const canary = createCanaryClient({
      clock,
      log,
      ...(canaryApiUrl ? { baseUrl: canaryApiUrl } : {}),
    });
    const box = await createLocalBox(config.dataDir);

    const { key: apiKey, file: keyFile } = loadOrCreateApiKey(config.dataDir, config.apiKey);
    // API Gateway calls DynamoDB once per request; so does its local stand-in.
    const integration = createDynamo({
      endpoint: dynamoEndpoint,
      region: "local",
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    closers.push(async () => integration.client.destroy());
    const gateway = createGateway({
      document: buildOpenApi({
        tables: LOCAL_TABLES,
        region: "local",
        credentialsRoleArn: "arn:aws:iam::000000000000:role/local",
      }),
      dynamo: integration.client,
      apiKeys: [apiKey],
      clock,
      log,
    });
    const url = await gateway
      .listen(config.port, config.host)
      .catch((error: NodeJS.ErrnoException) => {
        throw listenError(error, config.host, config.port);
      });
    closers.push(() => gateway.close());

    let running: Promise<PollSummary> | undefined;
    const pollNow = () => {
      running ??= runPoll({
        clock,
        log,
        canary,
        credentials,
        dynamo: dynamo.doc,
        tables: LOCAL_TABLES,
        box,
        settings: { backfillHours: config.backfillHours, retentionDays: config.retentionDays },
      }).finally(() => {
        running = undefined;
      });
      return running;
    };

    const keyShown = options.interactive ? apiKey : `in ${keyFile ?? "API_KEY"}`;
    const header = keyFile ? `$(cat '${keyFile}')` : "$API_KEY";
    say(`canary-capture: serving ${url}`);
    say(`canary-capture: API key ${keyShown}`);
    say(`canary-capture: try: curl -s -H "x-api-key: ${header}" ${url}/devices`);

    // Poll at once, then every interval; the wait is cut short by stop().
    let stopped = false;
    let stopping: Promise<{ pollFinished: boolean }> | undefined;
    let wake: () => void = () => undefined;
    const stopSignal = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const loop = (async () => {
      while (!stopped) {
        await pollNow();
        await Promise.race([clock.sleep(config.pollIntervalSeconds * 1000), stopSignal]);
      }
    })();

    return {
      url,
      apiKey,
      demo,
      pollNow,
      stop: ({ waitMs } = {}) => {
        stopping ??= (async () => {
          stopped = true;
          wake();
          const finished = loop.then(
            () => true,
            () => true,
          );
          // A person's patience runs on the wall clock, whatever clock the capture uses.
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<boolean>((resolve) => {
            if (waitMs !== undefined) timer = setTimeout(() => resolve(false), waitMs);
          });
          const pollFinished = await Promise.race([finished, late]);
          clearTimeout(timer);
          await stopAll();
          return { pollFinished };
        })();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A listen failure as one line naming HOST and PORT, and what to change. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (error.code) {
    case "EADDRINUSE":
      return new ConfigError(
        `PORT ${port} is already in use on HOST ${host}; stop what uses it, or set PORT to another port (0 picks a free one)`,
      );
    case "EACCES":
      return new ConfigError(
        `PORT ${port} on HOST ${host} needs privileges this process lacks; set PORT to 1024 or above`,
      );
    case "EADDRNOTAVAIL":
      return new ConfigError(
        `HOST ${host} is not an address of this machine; set HOST to one of its addresses, such as 127.0.0.1`,
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ConfigError(
        `HOST ${host} does not resolve to an address; set HOST to an IP address or a name this machine resolves`,
      );
    default:
      return new ConfigError(`cannot listen on HOST ${host}, PORT ${port}: ${error.message}`);
  }
}

if (require.main === module) {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  // Exit once stderr has taken the last message: pipes are asynchronous on some systems.
  const exit = (code: number) => process.stderr.write("", () => process.exit(code));
  startLocal({ env: process.env, cwd: process.cwd(), interactive: process.stderr.isTTY }).then(
    (instance) => {
      const stopOnSignal = createStopOnSignal({ stop: instance.stop, say, exit });
      process.on("SIGINT", stopOnSignal);
      process.on("SIGTERM", stopOnSignal);
    },
    (error: Error) => {
      say(`canary-capture: ${error.message}`);
      exit(1);
    },
  );
}
