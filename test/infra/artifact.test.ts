import * as childProcess from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as lib from "@aws-sdk/lib-dynamodb";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { CanarySimulator } from "../../runtime/canary/simulator";
import { SENSORLESS_DEVICE_TYPES } from "../../runtime/canary/types";
import { groupByMinute, sensorValues } from "../../runtime/capture/minutes";
import { isoSeconds, systemClock } from "../../runtime/clock";
import { POLLER_ENV } from "../../runtime/lambda/environment";
import { encryptionContext } from "../../runtime/secrets/box";
import type { SensorValues } from "../../runtime/store/items";
import { LOCAL_CREDENTIALS, type LocalDynamo, startDynamo } from "../support/dynamo";
import { type KmsStandIn, startKmsStandIn } from "../support/kms";
import { type ProgramRun, REGION, runProgram } from "../support/pulumi";

const ROOT = path.resolve(__dirname, "../..");
const USERNAME = "owner@example.com";
const PASSWORD = "correct horse battery staple";
const HOUR_MS = 3_600_000;

interface Invocation {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The handler's result, or its error message. */
  result?: Record<string, unknown>;
  error?: string;
  /** The structured log lines the function wrote. */
  logs: Array<Record<string, unknown>>;
}

describe("the poller Lambda's code archive", () => {
  let program: ProgramRun;
  let archiveDir: string;
  let declared: Record<string, string>;
  let simulator: CanarySimulator;
  let kms: KmsStandIn;
  const dynamos: LocalDynamo[] = [];

  before(async () => {
    program = await runProgram({
      config: {
        canaryUsername: USERNAME,
        canaryPassword: "placeholder-replaced-below",
        canaryApiUrl: "https://canary.invalid",
        "aws:region": REGION,
      },
      secretKeys: ["canaryPassword"],
    });
    const fn = program.one("aws:lambda/function:Function");
    declared = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    archiveDir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-capture-lambda-"));
    await writeArchive(fn.inputs.code as pulumi.asset.AssetArchive, archiveDir);

    const size = measure(archiveDir);
    console.log(
      `      archive: ${size.files} files, ${megabytes(size.bytes)} MB unpacked, about ${megabytes(size.deflated)} MB zipped; node_modules ${megabytes(size.nodeModulesDeflated)} MB zipped, our code ${kilobytes(size.ownDeflated)} KB zipped`,
    );

    simulator = new CanarySimulator({ clock: systemClock, username: USERNAME, password: PASSWORD });
    await simulator.start();
    kms = await startKmsStandIn({ region: REGION });
  });

  after(async () => {
    await simulator?.close();
    await kms?.close();
    for (const dynamo of dynamos) await dynamo.close();
    if (archiveDir) fs.rmSync(archiveDir, { recursive: true, force: true });
  });

  /** The declared environment with the local servers in place of AWS and Canary. */
  async function environmentFor(
    dynamo: LocalDynamo,
    overrides: Record<string, string | undefined>,
  ) {
    const variables: Record<string, string> = {
      ...declared,
      [POLLER_ENV.readingsTable]: dynamo.tables.readings,
      [POLLER_ENV.metadataTable]: dynamo.tables.metadata,
      [POLLER_ENV.keyId]: kms.keyId,
      [POLLER_ENV.canaryApiUrl]: simulator.url,
      [POLLER_ENV.passwordCiphertext]: kms.encrypt(
        PASSWORD,
        encryptionContext("canary-password", declared[POLLER_ENV.stack]),
      ),
    };
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete variables[name];
      else variables[name] = value;
    }
    return {
      ...variables,
      PATH: process.env.PATH ?? "",
      HOME: archiveDir,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
    };
  }

  it("declares exactly the variables it is run with here", () => {
    expect(Object.keys(declared).sort()).to.deep.equal(
      [
        POLLER_ENV.readingsTable,
        POLLER_ENV.metadataTable,
        POLLER_ENV.keyId,
        POLLER_ENV.stack,
        POLLER_ENV.username,
        POLLER_ENV.passwordCiphertext,
        POLLER_ENV.canaryApiUrl,
        POLLER_ENV.backfillHours,
        POLLER_ENV.retentionDays,
        POLLER_ENV.logLevel,
      ].sort(),
    );
  });

  it("captures the backfill window exactly as the simulator served it, in a separate Node process", async () => {
    const dynamo = await startDynamo();
    dynamos.push(dynamo);
    const invocation = await invoke(archiveDir, await environmentFor(dynamo, {}));

    expect(invocation.error, invocation.stderr).to.equal(undefined);
    expect(invocation.status).to.equal(0);
    const devices = simulator.devices.filter(
      (device) => !SENSORLESS_DEVICE_TYPES.has(device.typeId),
    );
    expect(invocation.result).to.include({ ok: true, devices: simulator.devices.length });
    expect(invocation.result?.polled).to.equal(devices.length);
    expect(
      invocation.logs.some((line) => line.msg === "poll finished" && line.ok === true),
    ).to.equal(true);

    for (const device of devices) {
      const window = servedWindow(simulator, String(device.id));
      expect(window.to - window.from, "the backfill window").to.be.within(
        24 * HOUR_MS,
        24 * HOUR_MS + 60_000,
      );
      const expected = new Map(
        [...groupByMinute(simulator.readingsBetween(device.id, window.from, window.to))]
          .sort(([a], [b]) => a - b)
          .map(([start, values]) => [isoSeconds(start), values]),
      );
      const stored = await storedMinutes(dynamo, String(device.id));
      expect(stored.size, `minutes of device ${device.id}`).to.be.greaterThan(1000);
      expect(stored).to.deep.equal(expected);
    }

    const output = `${invocation.stdout}\n${invocation.stderr}`;
    expect(output).not.to.include(PASSWORD);
  });

  it("throws after logging the summary when the run is not ok, so the Errors alarm fires", async () => {
    const dynamo = await startDynamo();
    dynamos.push(dynamo);
    const invocation = await invoke(
      archiveDir,
      await environmentFor(dynamo, {
        [POLLER_ENV.username]: undefined,
        [POLLER_ENV.passwordCiphertext]: undefined,
        [POLLER_ENV.tokenCiphertext]: kms.encrypt(
          "a-token-canary-never-issued",
          encryptionContext("canary-token", declared[POLLER_ENV.stack]),
        ),
      }),
    );

    expect(invocation.status).to.equal(1);
    expect(invocation.error).to.match(/^poll run failed with 1 error\(s\): .*token/);
    const summary = invocation.logs.find((line) => line.msg === "poll finished");
    expect(summary).to.include({ ok: false, errors: 1 });
    expect(`${invocation.stdout}\n${invocation.stderr}`).not.to.include(
      "a-token-canary-never-issued",
    );
  });
});

/** Writes an AssetArchive out as Lambda would unpack it. */
async function writeArchive(archive: pulumi.asset.AssetArchive, dir: string): Promise<void> {
  for (const [name, asset] of Object.entries(await archive.assets)) {
    const target = path.join(dir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (asset instanceof pulumi.asset.StringAsset) {
      fs.writeFileSync(target, await asset.text);
    } else if (
      asset instanceof pulumi.asset.FileArchive ||
      asset instanceof pulumi.asset.FileAsset
    ) {
      // Symlinks become copies, as in a zip.
      fs.cpSync(path.resolve(ROOT, await asset.path), target, {
        recursive: true,
        dereference: true,
      });
    } else if (asset instanceof pulumi.asset.AssetArchive) {
      await writeArchive(asset, target);
    } else {
      throw new Error(`archive entry ${name} is of a kind this test cannot write`);
    }
  }
}

function measure(dir: string) {
  const size = { files: 0, bytes: 0, deflated: 0, nodeModulesDeflated: 0, ownDeflated: 0 };
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        walk(file);
        continue;
      }
      const content = fs.readFileSync(file);
      // Per-file deflate plus zip's per-entry headers: close to what `zip -r` produces.
      const deflated = zlib.deflateRawSync(content).length + 2 * 46 + 2 * file.length;
      size.files++;
      size.bytes += content.length;
      size.deflated += deflated;
      if (path.relative(dir, file).startsWith("node_modules")) size.nodeModulesDeflated += deflated;
      else size.ownDeflated += deflated;
    }
  };
  walk(dir);
  return size;
}

const megabytes = (bytes: number) => (bytes / 1_048_576).toFixed(2);
const kilobytes = (bytes: number) => (bytes / 1024).toFixed(1);

/** Runs the archive's handler in its own Node process, as Lambda would, with `env` only. */
function invoke(dir: string, env: Record<string, string>): Promise<Invocation> {
  // The result travels on a line of its own, after the function's log lines.
  const marker = `result-${crypto.randomBytes(6).toString("hex")}:`;
  const script = `
    require("./__index.js").handler({}, { awsRequestId: "artifact-test" }).then(
      (result) => console.log(${JSON.stringify(marker)} + JSON.stringify({ result })),
      (error) => { console.log(${JSON.stringify(marker)} + JSON.stringify({ error: error.message })); process.exitCode = 1; },
    );`;
  return new Promise((resolve, reject) => {
    childProcess.execFile(
      process.execPath,
      ["--no-warnings", "-e", script],
      { cwd: dir, env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        const lines = stdout.split("\n");
        const outcome = lines.find((line) => line.startsWith(marker));
        const parsed = outcome
          ? (JSON.parse(outcome.slice(marker.length)) as Pick<Invocation, "result" | "error">)
          : {};
        const logs = lines
          .filter((line) => line.startsWith("{"))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        resolve({ status: error ? (error.code as number) : 0, stdout, stderr, logs, ...parsed });
      },
    );
  });
}

/** The span of `created__range` the simulator was asked for, for one device. */
function servedWindow(simulator: CanarySimulator, deviceId: string): { from: number; to: number } {
  const ranges = simulator.requestLog
    .filter((request) => request.path === "/v1/readings/" && request.query.device === deviceId)
    .map((request) =>
      (request.query.created__range ?? "").split(",").map((time) => Date.parse(time)),
    );
  expect(ranges, `readings requests for device ${deviceId}`).not.to.have.length(0);
  return {
    from: Math.min(...ranges.map(([from]) => from as number)),
    to: Math.max(...ranges.map(([, to]) => to as number)),
  };
}

async function storedMinutes(
  dynamo: LocalDynamo,
  deviceId: string,
): Promise<Map<string, SensorValues>> {
  const minutes = new Map<string, SensorValues>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.doc.send(
      new lib.QueryCommand({
        TableName: dynamo.tables.readings,
        KeyConditionExpression: "deviceId = :device AND begins_with(#period, :minute)",
        ExpressionAttributeNames: { "#period": "period" },
        ExpressionAttributeValues: { ":device": deviceId, ":minute": "minute#" },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) minutes.set(item.time as string, sensorValues(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return minutes;
}
