import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SecretBox } from "./box";
import { SecretBoxError } from "./errors";

/**
 * The local mode's SecretBox: AES-256-GCM under a key kept in a file in the data dir.
 *
 * Ciphertext format, version 1: `v1:` followed by standard, padded base64 of
 *
 *     iv (12 random bytes) | GCM tag (16 bytes) | encrypted UTF-8 plaintext
 *
 * The purpose, as UTF-8, is the GCM additional authenticated data, so a ciphertext opens
 * only for the purpose it was sealed for. A later format gets a new prefix; `open` refuses
 * prefixes it does not know.
 *
 * The key is 32 random bytes in `<dataDir>/secret.key`, mode 0600. Whoever can read that
 * file can open every sealed secret; losing it makes them all unreadable.
 */
export const KEY_FILE_NAME = "secret.key";

const VERSION = "v1:";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Opens the key file in `dataDir`, creating the dir (0700) and the key (0600) if missing.
 * Throws, naming the path, if the key file is not 32 bytes or is open to group or others.
 */
export async function createLocalBox(dataDir: string): Promise<SecretBox> {
  const keyPath = path.join(dataDir, KEY_FILE_NAME);
  const key = await loadOrCreateKey(dataDir, keyPath);

  return {
    async seal(purpose, plaintext) {
      // A random 96-bit IV is safe far beyond the number of seals one key file will see.
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(purpose, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
    },

    async open(purpose, ciphertext) {
      const refuse = (why: string) =>
        new SecretBoxError(
          `could not open the ${purpose} secret with key file ${keyPath}: ${why}`,
          "open",
          purpose,
          true,
        );
      if (!ciphertext.startsWith(VERSION)) {
        throw refuse(`it does not start with "${VERSION}", so this box did not seal it`);
      }
      const encoded = ciphertext.slice(VERSION.length);
      const raw = Buffer.from(encoded, "base64");
      if (!BASE64.test(encoded) || raw.length < IV_BYTES + TAG_BYTES) {
        throw refuse("it is not base64 of an IV, a tag and a body; it was cut or altered");
      }

      const decipher = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(purpose, "utf8"));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        const body = raw.subarray(IV_BYTES + TAG_BYTES);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
      } catch {
        // GCM says only "unable to authenticate"; these are the three ways to get there.
        throw refuse("it was sealed for another purpose or with another key, or altered");
      }
    },
  };
}

async function loadOrCreateKey(dataDir: string, keyPath: string): Promise<Buffer> {
  await fs.promises.mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    return await readKey(keyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await createKey(keyPath);
  return readKey(keyPath);
}

/**
 * Writes a new key under a private temporary name, then hard-links it into place. The link
 * fails if the key file already exists, so when two processes start at once one key wins,
 * nothing is overwritten, and no one can read a half-written key (as with `wx` on the key
 * file itself, which is exclusive but visible while still empty).
 */
async function createKey(keyPath: string): Promise<void> {
  const temporary = `${keyPath}.${process.pid}.${crypto.randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await fs.promises.open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(crypto.randomBytes(KEY_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.link(temporary, keyPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    throw new Error(
      `could not create the key file ${keyPath} (${code ?? (error as Error).name}); check that the data dir is writable`,
    );
  } finally {
    await fs.promises.rm(temporary, { force: true });
  }
}

async function readKey(keyPath: string): Promise<Buffer> {
  // One open file for the checks and the read, so the file checked is the file read.
  const handle = await fs.promises.open(keyPath, "r");
  try {
    const stat = await handle.stat();
    const mode = stat.mode & 0o777;
    // Windows reports no POSIX modes; there the data dir's ACL is what protects the key.
    if (process.platform !== "win32" && (mode & 0o077) !== 0) {
      throw new Error(
        `key file ${keyPath} has mode 0${mode.toString(8)}, open to group or others; it must be 0600. If no one else can have read it, run \`chmod 600 ${keyPath}\`; otherwise move it aside, which makes secrets sealed with it unreadable`,
      );
    }
    const key = stat.isFile() ? await handle.readFile() : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) {
      throw new Error(
        `key file ${keyPath} is not a ${KEY_BYTES}-byte key (${stat.isFile() ? `${key.length} bytes` : "not a regular file"}); restore it from a backup or move it aside, which makes secrets sealed with it unreadable`,
      );
    }
    return key;
  } finally {
    await handle.close();
  }
}
