// This module runs in the poller Lambda, shipped as transpiled CommonJS (infra/lambdaSource.ts).
import * as kms from "@aws-sdk/client-kms";
import { encryptionContext, type SecretBox, type SecretPurpose } from "./box";
import { SecretBoxError } from "./errors";

export interface KmsBoxOptions {
  /**
   * The symmetric KMS key: key id, key ARN, alias name or alias ARN. Decrypt names it too,
   * so a ciphertext sealed under any other key is refused rather than opened.
   */
  keyId: string;
  /** AWS region. @default process.env.AWS_REGION, else "us-east-1" */
  region?: string;
  /**
   * KMS endpoint, e.g. the test stand-in's `http://127.0.0.1:PORT`.
   * @default the SDK's own resolution (AWS_ENDPOINT_URL_KMS, then the regional endpoint)
   */
  endpoint?: string;
  /** Static credentials, for local endpoints. @default the SDK's chain (the Lambda's role) */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A ready client; `region`, `endpoint` and `credentials` are then ignored. @default none */
  client?: kms.KMSClient;
  /** The Pulumi stack, bound into every encryption context. @default none */
  stack?: string;
}

/**
 * The Lambda's SecretBox: KMS Encrypt and Decrypt with `encryptionContext(purpose, stack)`. A
 * ciphertext is the base64 of KMS's CiphertextBlob, the same form `aws.kms.Ciphertext`
 * produces at deploy time, so the deployed Canary password opens here as "canary-password".
 * KMS takes at most 4096 bytes of plaintext per call, ample for a token or a password.
 */
export function createKmsBox(options: KmsBoxOptions): SecretBox {
  const { keyId } = options;
  const client =
    options.client ??
    new kms.KMSClient({
      region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });

  const send = async <T>(
    operation: "Encrypt" | "Decrypt",
    purpose: SecretPurpose,
    secret: string,
    request: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await request();
    } catch (error) {
      throw kmsError(operation, keyId, purpose, secret, error);
    }
  };

  return {
    async seal(purpose, plaintext) {
      const output = await send("Encrypt", purpose, plaintext, () =>
        client.send(
          new kms.EncryptCommand({
            KeyId: keyId,
            Plaintext: Buffer.from(plaintext, "utf8"),
            EncryptionContext: encryptionContext(purpose, options.stack),
          }),
        ),
      );
      if (!output.CiphertextBlob) {
        throw new SecretBoxError(
          `KMS Encrypt of the ${purpose} secret with key ${keyId} returned no ciphertext`,
          "seal",
          purpose,
          false,
        );
      }
      return Buffer.from(output.CiphertextBlob).toString("base64");
    },

    async open(purpose, ciphertext) {
      if (!isBase64(ciphertext)) {
        throw new SecretBoxError(
          `could not open the ${purpose} secret with KMS key ${keyId}: the ciphertext is not base64 of a KMS ciphertext blob`,
          "open",
          purpose,
          true,
        );
      }
      const output = await send("Decrypt", purpose, ciphertext, () =>
        client.send(
          new kms.DecryptCommand({
            KeyId: keyId,
            CiphertextBlob: Buffer.from(ciphertext, "base64"),
            EncryptionContext: encryptionContext(purpose, options.stack),
          }),
        ),
      );
      if (!output.Plaintext) {
        throw new SecretBoxError(
          `KMS Decrypt of the ${purpose} secret with key ${keyId} returned no plaintext`,
          "open",
          purpose,
          false,
        );
      }
      return Buffer.from(output.Plaintext).toString("utf8");
    },
  };
}

function isBase64(text: string): boolean {
  return text.length > 0 && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}

/** Errors that mean the ciphertext itself was refused, not the key or the service. */
const REFUSED_CIPHERTEXT = new Set(["InvalidCiphertextException", "IncorrectKeyException"]);

/** What to do about the errors a misconfigured or unlucky deployment meets. */
const ADVICE: Record<string, string> = {
  InvalidCiphertextException:
    "the ciphertext was sealed for another purpose or under another key, or was altered; seal the secret again",
  IncorrectKeyException:
    "the ciphertext was sealed under a different key; seal the secret again with this key",
  NotFoundException: "check the key id, and that the key is in this region",
  AccessDeniedException: "check that this role may use the key for this operation",
  DisabledException: "the key is disabled; enable it",
  KMSInvalidStateException: "the key is not usable (pending deletion or import); check its state",
  ThrottlingException: "KMS is throttling requests; retry later",
};

function kmsError(
  operation: "Encrypt" | "Decrypt",
  keyId: string,
  purpose: SecretPurpose,
  secret: string,
  error: unknown,
): SecretBoxError {
  const failure = error as Partial<Error> & {
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = failure.code ?? failure.name ?? "UnknownError";
  const status = failure.$metadata?.httpStatusCode;

  // KMS never echoes plaintext or ciphertext in its messages, but a proxy in between could;
  // a message that contains the secret is dropped (with a very short secret, often wrongly).
  const detail =
    typeof failure.message === "string" ? failure.message.slice(0, 300).replace(/\.$/, "") : "";
  const safeDetail = detail && !detail.includes(secret) ? `: ${detail}` : "";
  const advice = Object.hasOwn(ADVICE, name) ? `; ${ADVICE[name]}` : "";

  return new SecretBoxError(
    `KMS ${operation} of the ${purpose} secret with key ${keyId} failed with ${name}${status ? ` (status ${status})` : ""}${safeDetail}${advice}`,
    operation === "Encrypt" ? "seal" : "open",
    purpose,
    operation === "Decrypt" && REFUSED_CIPHERTEXT.has(name),
  );
}
