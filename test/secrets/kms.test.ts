import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as util from "node:util";
import * as kms from "@aws-sdk/client-kms";
import { expect } from "chai";
import { encryptionContext } from "../../runtime/secrets/box";
import { createKmsBox } from "../../runtime/secrets/kms";
import { KMS_CREDENTIALS, type KmsStandIn, startKmsStandIn } from "../support/kms";
import { boxRejection, expectNoSecrets } from "./leaks";

const PASSWORD = "correct-horse-battery-staple-ñ-🔐";
const REPO = path.resolve(__dirname, "../..");

describe("KMS secret box", () => {
  let standIn: KmsStandIn;
  let client: kms.KMSClient;

  before(async () => {
    standIn = await startKmsStandIn({ keys: 2 });
    client = new kms.KMSClient({
      region: "us-east-1",
      endpoint: standIn.endpoint,
      credentials: KMS_CREDENTIALS,
    });
  });
  after(async () => {
    client.destroy();
    await standIn.close();
  });

  /** Requests the stand-in receives while `action` runs, per operation. */
  const callsDuring = async (action: () => Promise<unknown>) => {
    const before = { ...standIn.calls };
    await action();
    const during: Record<string, number> = {};
    for (const [operation, count] of Object.entries(standIn.calls)) {
      if (count !== (before[operation] ?? 0)) during[operation] = count - (before[operation] ?? 0);
    }
    return during;
  };

  it("opens what it sealed, with one Encrypt and one Decrypt through the real KMS client", async () => {
    const box = createKmsBox({ keyId: standIn.keyId, client });
    let opened = "";

    const calls = await callsDuring(async () => {
      opened = await box.open("canary-token", await box.seal("canary-token", PASSWORD));
    });

    expect(opened).to.equal(PASSWORD);
    expect(calls).to.deep.equal({ Encrypt: 1, Decrypt: 1 });
  });

  it("opens the Canary password as encrypted at deploy time with the canary-password context", async () => {
    const box = createKmsBox({ keyId: standIn.keyId, client });
    const deployed = standIn.encrypt(PASSWORD, encryptionContext("canary-password"));

    expect(await box.open("canary-password", deployed)).to.equal(PASSWORD);
  });

  it("refuses a ciphertext sealed for another purpose, as KMS refuses another encryption context", async () => {
    const box = createKmsBox({ keyId: standIn.keyId, client });
    const ciphertext = await box.seal("canary-password", PASSWORD);

    const error = await boxRejection(box.open("canary-token", ciphertext));

    expect(error.operation).to.equal("open");
    expect(error.purpose).to.equal("canary-token");
    expect(error.invalidCiphertext).to.equal(true);
    expect(error.message)
      .to.include("KMS Decrypt")
      .and.to.include(standIn.keyId)
      .and.to.include("InvalidCiphertextException");
    expectNoSecrets(error, PASSWORD, ciphertext);
  });

  it("refuses an altered ciphertext, and text that is not base64 without asking KMS", async () => {
    const box = createKmsBox({ keyId: standIn.keyId, client });
    const ciphertext = await box.seal("canary-token", PASSWORD);
    const raw = Buffer.from(ciphertext, "base64");
    raw[raw.length - 1] ^= 0x01;
    const altered = raw.toString("base64");

    const error = await boxRejection(box.open("canary-token", altered));
    expect(error.invalidCiphertext).to.equal(true);
    expectNoSecrets(error, PASSWORD, ciphertext, altered);

    const garbled = `${ciphertext.slice(0, 10)}*${ciphertext.slice(11)}`;
    const calls = await callsDuring(async () => {
      const refused = await boxRejection(box.open("canary-token", garbled));
      expect(refused.message).to.include("not base64");
      expectNoSecrets(refused, PASSWORD, ciphertext, garbled);
    });
    expect(calls).to.deep.equal({});
  });

  it("refuses a ciphertext sealed under another key, because Decrypt names the box's key", async () => {
    const ciphertext = await createKmsBox({ keyId: standIn.keyIds[1], client }).seal(
      "canary-token",
      PASSWORD,
    );
    const box = createKmsBox({ keyId: standIn.keyId, client });

    const error = await boxRejection(box.open("canary-token", ciphertext));

    expect(error.invalidCiphertext).to.equal(true);
    expect(error.message).to.include("IncorrectKeyException").and.to.include(standIn.keyId);
    expectNoSecrets(error, PASSWORD, ciphertext);
  });

  it("names the operation, key and KMS error for a missing key, without blaming the ciphertext", async () => {
    const missing = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000";
    const box = createKmsBox({ keyId: missing, client });
    const ciphertext = standIn.encrypt(PASSWORD, encryptionContext("canary-token"));

    const sealing = await boxRejection(box.seal("canary-token", PASSWORD));
    const opening = await boxRejection(box.open("canary-token", ciphertext));

    expect(sealing.operation).to.equal("seal");
    expect(sealing.message).to.include("KMS Encrypt").and.to.include(missing);
    expect(opening.message).to.include("KMS Decrypt").and.to.include(missing);
    for (const error of [sealing, opening]) {
      expect(error.message).to.include("NotFoundException").and.to.include("check the key id");
      expect(error.invalidCiphertext).to.equal(false);
      expectNoSecrets(error, PASSWORD, ciphertext);
    }
  });

  it("reports an unreachable KMS as a service failure, not a bad ciphertext", async () => {
    // A port that was just free and is now closed: connections to it are refused.
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const unreachable = new kms.KMSClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${port}`,
      credentials: KMS_CREDENTIALS,
      maxAttempts: 1,
    });
    const box = createKmsBox({ keyId: standIn.keyId, client: unreachable });
    const ciphertext = standIn.encrypt(PASSWORD, encryptionContext("canary-token"));

    try {
      const error = await boxRejection(box.open("canary-token", ciphertext));
      expect(error.message).to.include("KMS Decrypt").and.to.include("ECONNREFUSED");
      expect(error.invalidCiphertext).to.equal(false);
      expectNoSecrets(error, PASSWORD, ciphertext);
    } finally {
      unreachable.destroy();
    }
  });

  it("builds its own client from the endpoint, region and credentials options", async () => {
    const box = createKmsBox({
      keyId: standIn.keyId,
      endpoint: standIn.endpoint,
      region: "us-east-1",
      credentials: KMS_CREDENTIALS,
    });

    const calls = await callsDuring(async () => {
      expect(await box.open("login-failure", await box.seal("login-failure", PASSWORD))).to.equal(
        PASSWORD,
      );
    });

    expect(calls).to.deep.equal({ Encrypt: 1, Decrypt: 1 });
  });

  it("opens a deploy-time ciphertext in another process that finds KMS through AWS_ENDPOINT_URL_KMS", async () => {
    const home = await fs.promises.mkdtemp(path.join(os.tmpdir(), "canary-kms-home-"));
    const ciphertext = standIn.encrypt(PASSWORD, encryptionContext("canary-password"));
    // The box gets no endpoint: as in the Lambda, only the environment points the SDK here.
    const script = `
      const { createKmsBox } = require("./runtime/secrets/kms");
      createKmsBox({ keyId: process.env.KEY_ID })
        .open("canary-password", process.env.SEALED_PASSWORD)
        .then((plaintext) => process.stdout.write(plaintext));
    `;

    try {
      let stdout = "";
      const calls = await callsDuring(async () => {
        const run = util.promisify(childProcess.execFile);
        ({ stdout } = await run(
          process.execPath,
          ["-r", require.resolve("ts-node/register/transpile-only"), "-e", script],
          {
            cwd: REPO,
            timeout: 30_000,
            env: {
              PATH: process.env.PATH,
              // No user's AWS profile, config file or endpoint_url can take part.
              HOME: home,
              AWS_CONFIG_FILE: path.join(home, "config"),
              AWS_SHARED_CREDENTIALS_FILE: path.join(home, "credentials"),
              AWS_REGION: "us-east-1",
              AWS_ACCESS_KEY_ID: KMS_CREDENTIALS.accessKeyId,
              AWS_SECRET_ACCESS_KEY: KMS_CREDENTIALS.secretAccessKey,
              AWS_ENDPOINT_URL_KMS: standIn.endpoint,
              KEY_ID: standIn.keyId,
              SEALED_PASSWORD: ciphertext,
            },
          },
        ));
      });

      expect(stdout).to.equal(PASSWORD);
      expect(calls).to.deep.equal({ Decrypt: 1 });
    } finally {
      await fs.promises.rm(home, { recursive: true, force: true });
    }
  });
});
