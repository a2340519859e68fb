import * as crypto from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for AWS KMS: a real HTTP server speaking the KMS JSON protocol
 * (`X-Amz-Target: TrentService.Encrypt` and `TrentService.Decrypt`), so the real
 * @aws-sdk/client-kms talks to it through `endpoint` or AWS_ENDPOINT_URL_KMS, in this process
 * or another. It encrypts for real, AES-256-GCM under a per-key in-memory key with the
 * encryption context bound as additional data, so like KMS it refuses a ciphertext whose
 * context differs in any pair, whatever the order. It does not check SigV4 signatures, only
 * that a request is signed; it knows key ids and key ARNs, not aliases. Keys live in memory,
 * so a ciphertext opens only on the stand-in that made it.
 */
export interface KmsStandIn {
  /** `http://127.0.0.1:PORT`, for a client's `endpoint` or for AWS_ENDPOINT_URL_KMS. */
  endpoint: string;
  /** ARN of the first key, e.g. `arn:aws:kms:us-east-1:111122223333:key/<uuid>`. */
  keyId: string;
  /** ARNs of all keys, in creation order; `keyIds[0]` is `keyId`. */
  keyIds: string[];
  /** Requests received, per operation (`Encrypt`, `Decrypt`, ...), failed ones included. */
  calls: Record<string, number>;
  /**
   * Encrypts as `aws.kms.Ciphertext` does at deploy time: returns the base64 CiphertextBlob
   * that Decrypt accepts with the same context. Not a request, so not counted in `calls`.
   */
  encrypt(plaintext: string, context: Record<string, string>, keyId?: string): string;
  close(): Promise<void>;
}

export interface KmsStandInOptions {
  /** How many keys to hold. @default 1 */
  keys?: number;
  /** Region in the key ARNs. @default "us-east-1" */
  region?: string;
}

/** Credentials the stand-in accepts; it checks that a request is signed, not by whom. */
export const KMS_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

const ACCOUNT = "111122223333";
const ALGORITHM = "SYMMETRIC_DEFAULT";
const CONTENT_TYPE = "application/x-amz-json-1.1";
/** KMS's limit on Encrypt's plaintext. */
const MAX_PLAINTEXT_BYTES = 4096;
const ID_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  arn: string;
  /** The key id as 16 bytes, the first field of every ciphertext blob. */
  id: Buffer;
  material: Buffer;
}

/** A KMS error response: `{"__type": type, "message": message}` with status 400. */
class KmsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startKmsStandIn(options: KmsStandInOptions = {}): Promise<KmsStandIn> {
  const region = options.region ?? "us-east-1";
  const keys: Key[] = Array.from({ length: options.keys ?? 1 }, () => {
    const uuid = crypto.randomUUID();
    return {
      arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${uuid}`,
      id: Buffer.from(uuid.replaceAll("-", ""), "hex"),
      material: crypto.randomBytes(32),
    };
  });
  const calls: Record<string, number> = {};

  // KMS accepts a key id or a key ARN for the same key; aliases are not modelled.
  const findKey = (keyId: unknown): Key => {
    const key = keys.find((candidate) => candidate.arn === keyId || uuidOf(candidate) === keyId);
    if (!key) throw new KmsFault("NotFoundException", `Key '${String(keyId)}' does not exist`);
    return key;
  };

  const encrypt = (key: Key, plaintext: Buffer, context: Record<string, string>): Buffer => {
    if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT_BYTES) {
      throw new KmsFault(
        "ValidationException",
        `1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and ${MAX_PLAINTEXT_BYTES}`,
      );
    }
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv("aes-256-gcm", key.material, iv);
    cipher.setAAD(canonical(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([key.id, iv, cipher.getAuthTag(), body]);
  };

  const operations: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
    Encrypt(input) {
      const key = findKey(input.KeyId);
      const plaintext = blob(input.Plaintext, "Plaintext");
      const ciphertext = encrypt(key, plaintext, contextOf(input.EncryptionContext));
      return {
        CiphertextBlob: ciphertext.toString("base64"),
        KeyId: key.arn,
        EncryptionAlgorithm: ALGORITHM,
      };
    },

    Decrypt(input) {
      const raw = blob(input.CiphertextBlob, "CiphertextBlob");
      const invalid = new KmsFault(
        "InvalidCiphertextException",
        "The ciphertext is invalid, or its encryption context does not match",
      );
      if (raw.length < ID_BYTES + IV_BYTES + TAG_BYTES) throw invalid;
      const key = keys.find((candidate) => candidate.id.equals(raw.subarray(0, ID_BYTES)));
      if (!key) throw invalid;
      if (input.KeyId !== undefined && findKey(input.KeyId) !== key) {
        // KMS answers so when the ciphertext names one key and the request another.
        throw new KmsFault(
          "IncorrectKeyException",
          "The key ID in the request does not identify a CMK that can perform this operation.",
        );
      }

      const iv = raw.subarray(ID_BYTES, ID_BYTES + IV_BYTES);
      const decipher = crypto.createDecipheriv("aes-256-gcm", key.material, iv, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(canonical(contextOf(input.EncryptionContext)));
      decipher.setAuthTag(raw.subarray(ID_BYTES + IV_BYTES, ID_BYTES + IV_BYTES + TAG_BYTES));
      let plaintext: Buffer;
      try {
        const body = raw.subarray(ID_BYTES + IV_BYTES + TAG_BYTES);
        plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        throw invalid;
      }
      return {
        Plaintext: plaintext.toString("base64"),
        KeyId: key.arn,
        EncryptionAlgorithm: ALGORITHM,
      };
    },
  };

  const server = http.createServer((request, response) => {
    const reply = (status: number, body: Record<string, unknown>) => {
      response.writeHead(status, {
        "content-type": CONTENT_TYPE,
        "x-amzn-requestid": crypto.randomUUID(),
      });
      response.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const operation = target.startsWith("TrentService.") ? target.slice(13) : target;
      calls[operation] = (calls[operation] ?? 0) + 1;
      try {
        reply(200, answer(request, operation, Buffer.concat(chunks)));
      } catch (error) {
        const fault =
          error instanceof KmsFault ? error : new KmsFault("InternalException", String(error));
        reply(fault.type === "InternalException" ? 500 : 400, {
          __type: fault.type,
          message: fault.message,
        });
      }
    });
  });

  const answer = (request: http.IncomingMessage, operation: string, body: Buffer) => {
    if (request.method !== "POST" || request.url !== "/") {
      throw new KmsFault("UnknownOperationException", "KMS takes POST / only");
    }
    if (!String(request.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 ")) {
      throw new KmsFault("MissingAuthenticationTokenException", "Request is missing a signature");
    }
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (!handler) {
      throw new KmsFault("UnknownOperationException", `The stand-in does not do '${operation}'`);
    }
    let input: unknown;
    try {
      input = JSON.parse(body.toString("utf8"));
    } catch {
      throw new KmsFault("SerializationException", "The request body is not JSON");
    }
    if (!input || typeof input !== "object" || Array.isArray(input)) {
      throw new KmsFault("SerializationException", "The request body is not a JSON object");
    }
    return handler(input as Record<string, unknown>);
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keyId: keys[0].arn,
    keyIds: keys.map((key) => key.arn),
    calls,
    encrypt: (plaintext, context, keyId = keys[0].arn) =>
      encrypt(findKey(keyId), Buffer.from(plaintext, "utf8"), context).toString("base64"),
    close: async () => {
      // Clients keep connections alive; without this, close waits for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

function uuidOf(key: Key): string {
  return key.arn.slice(key.arn.indexOf("/") + 1);
}

function blob(value: unknown, field: string): Buffer {
  if (typeof value !== "string" || value.length === 0) {
    throw new KmsFault("ValidationException", `1 validation error detected: ${field} is required`);
  }
  return Buffer.from(value, "base64");
}

function contextOf(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const valid =
    value !== null &&
    typeof value === "object" &&
    Object.values(value).every((item) => typeof item === "string");
  if (!valid) {
    throw new KmsFault("SerializationException", "EncryptionContext must map strings to strings");
  }
  return value as Record<string, string>;
}

/** The encryption context as bytes that ignore pair order, as KMS's binding does. */
function canonical(context: Record<string, string>): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(pairs), "utf8");
}
