import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const API_KEY_FILE = "api-key";

/**
 * The local API's key: the given one, or the one kept in `<dataDir>/api-key`, or a new
 * random one written there (mode 0600) on first start, so restarts keep the same key.
 */
export function loadOrCreateApiKey(
  dataDir: string,
  given?: string,
): { key: string; file?: string } {
  if (given) return { key: given };
  const file = path.join(dataDir, API_KEY_FILE);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${crypto.randomBytes(24).toString("base64url")}\n`, {
      flag: "wx",
      mode: 0o600,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const key = fs.readFileSync(file, "utf8").trim();
  if (!/^[\x21-\x7e]{20,128}$/.test(key)) {
    throw new Error(
      `the API key in ${file} is not 20 to 128 printable characters; delete the file to get a new key`,
    );
  }
  return { key, file };
}
