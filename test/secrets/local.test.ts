import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { SecretPurpose } from "../../runtime/secrets/box";
import { createLocalBox, KEY_FILE_NAME } from "../../runtime/secrets/local";
import { boxRejection, expectNoSecrets, rejection } from "./leaks";

const PASSWORD = "correct-horse-battery-staple-ñ-🔐";

describe("local secret box", () => {
  let root: string;
  let dataDir: string;
  let keyPath: string;

  beforeEach(async () => {
    root = await fs.promises.mkdtemp(path.join(os.tmpdir(), "canary-secrets-"));
    dataDir = path.join(root, "data");
    keyPath = path.join(dataDir, KEY_FILE_NAME);
  });
  afterEach(async () => {
    await fs.promises.rm(root, { recursive: true, force: true });
  });

  it("opens what it sealed, for every purpose", async () => {
    const box = await createLocalBox(dataDir);
    const purposes: SecretPurpose[] = ["canary-token", "canary-password", "login-failure"];

    for (const purpose of purposes) {
      const plaintext = `${purpose}: ${PASSWORD}`;
      expect(await box.open(purpose, await box.seal(purpose, plaintext))).to.equal(plaintext);
    }
    expect(await box.open("canary-token", await box.seal("canary-token", ""))).to.equal("");
  });

  it("writes v1: and base64 of a fresh IV, a tag and the body on every seal", async () => {
    const box = await createLocalBox(dataDir);

    const first = await box.seal("canary-token", PASSWORD);
    const second = await box.seal("canary-token", PASSWORD);

    expect(first).to.match(/^v1:[A-Za-z0-9+/]+={0,2}$/);
    const raw = Buffer.from(first.slice(3), "base64");
    expect(raw.length).to.equal(12 + 16 + Buffer.byteLength(PASSWORD));
    expect(raw.subarray(0, 12)).not.to.deep.equal(
      Buffer.from(second.slice(3), "base64").subarray(0, 12),
    );
    expect(second).not.to.equal(first);
  });

  it("creates the data dir 0700 and a 32-byte key file 0600", async () => {
    await createLocalBox(dataDir);

    expect((await fs.promises.stat(dataDir)).mode & 0o777).to.equal(0o700);
    const key = await fs.promises.stat(keyPath);
    expect(key.mode & 0o777).to.equal(0o600);
    expect(key.size).to.equal(32);
    expect(await fs.promises.readdir(dataDir)).to.deep.equal([KEY_FILE_NAME]);
  });

  it("reuses the key file, so a second box on the same dir opens the first's ciphertext", async () => {
    const ciphertext = await (await createLocalBox(dataDir)).seal("canary-token", PASSWORD);
    const key = await fs.promises.readFile(keyPath);

    const again = await createLocalBox(dataDir);

    expect(await again.open("canary-token", ciphertext)).to.equal(PASSWORD);
    expect(await fs.promises.readFile(keyPath)).to.deep.equal(key);
  });

  it("agrees on one key when several boxes create it at the same time", async () => {
    const boxes = await Promise.all(Array.from({ length: 12 }, () => createLocalBox(dataDir)));

    const ciphertext = await boxes[0].seal("canary-token", PASSWORD);

    for (const box of boxes) expect(await box.open("canary-token", ciphertext)).to.equal(PASSWORD);
    expect(await fs.promises.readdir(dataDir)).to.deep.equal([KEY_FILE_NAME]);
  });

  it("refuses to open a ciphertext sealed for another purpose", async () => {
    const box = await createLocalBox(dataDir);
    const ciphertext = await box.seal("canary-password", PASSWORD);

    const error = await boxRejection(box.open("canary-token", ciphertext));

    expect(error.operation).to.equal("open");
    expect(error.purpose).to.equal("canary-token");
    expect(error.invalidCiphertext).to.equal(true);
    expect(error.message).to.include(keyPath).and.to.include("another purpose");
    expectNoSecrets(error, PASSWORD, ciphertext);
  });

  it("refuses a ciphertext altered in its IV, tag, body, length or prefix", async () => {
    const box = await createLocalBox(dataDir);
    const ciphertext = await box.seal("canary-token", PASSWORD);
    const raw = Buffer.from(ciphertext.slice(3), "base64");
    const flipped = (index: number) => {
      const copy = Buffer.from(raw);
      copy[index] ^= 0x01;
      return `v1:${copy.toString("base64")}`;
    };
    const altered = {
      iv: flipped(0),
      tag: flipped(12),
      body: flipped(28),
      truncated: `v1:${raw.subarray(0, raw.length - 1).toString("base64")}`,
      "too short": `v1:${raw.subarray(0, 20).toString("base64")}`,
      "no prefix": ciphertext.slice(3),
      "unknown version": `v2:${ciphertext.slice(3)}`,
      "not base64": `v1:${ciphertext.slice(3, 20)}!${ciphertext.slice(20)}`,
    };

    for (const [how, text] of Object.entries(altered)) {
      const error = await boxRejection(box.open("canary-token", text));
      expect(error.invalidCiphertext, how).to.equal(true);
      expectNoSecrets(error, PASSWORD, ciphertext, text);
    }
  });

  it("cannot open a ciphertext sealed with another data dir's key", async () => {
    const ciphertext = await (await createLocalBox(dataDir)).seal("canary-token", PASSWORD);
    const other = await createLocalBox(path.join(root, "other"));

    const error = await boxRejection(other.open("canary-token", ciphertext));

    expect(error.message).to.include(path.join(root, "other", KEY_FILE_NAME));
    expectNoSecrets(error, PASSWORD, ciphertext);
  });

  it("refuses a key file open to group or others, naming the path and not the key", async () => {
    await createLocalBox(dataDir);
    const key = await fs.promises.readFile(keyPath);

    for (const mode of [0o640, 0o604, 0o660, 0o644]) {
      await fs.promises.chmod(keyPath, mode);
      const error = await rejection(createLocalBox(dataDir));
      expect(error.message)
        .to.include(keyPath)
        .and.to.include(`0${mode.toString(8)}`);
      expect(error.message).to.include(`chmod 600 ${keyPath}`);
      expectNoSecrets(error, key.toString("hex"), key.toString("base64"), key.toString("latin1"));
    }
  });

  it("accepts a key file tightened to read-only 0400", async () => {
    const ciphertext = await (await createLocalBox(dataDir)).seal("canary-token", PASSWORD);
    await fs.promises.chmod(keyPath, 0o400);

    const box = await createLocalBox(dataDir);

    expect(await box.open("canary-token", ciphertext)).to.equal(PASSWORD);
  });

  it("refuses a key file of the wrong length, naming the path", async () => {
    await fs.promises.mkdir(dataDir, { mode: 0o700 });
    const short = Buffer.alloc(16, 7);
    await fs.promises.writeFile(keyPath, short, { mode: 0o600 });

    const error = await rejection(createLocalBox(dataDir));

    expect(error.message).to.include(keyPath).and.to.include("16 bytes");
    expectNoSecrets(error, short.toString("hex"), short.toString("base64"));
  });
});
