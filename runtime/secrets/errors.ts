import type { SecretPurpose } from "./box";

/**
 * A secret could not be sealed or opened. The message names the operation, the purpose and
 * where the key lives (a key file path or a KMS key id), and never holds a plaintext, a
 * ciphertext or key material.
 */
export class SecretBoxError extends Error {
  override name = "SecretBoxError";

  constructor(
    message: string,
    readonly operation: "seal" | "open",
    readonly purpose: SecretPurpose,
    /**
     * True when the ciphertext itself was refused: altered, sealed for another purpose or
     * with another key. Sealing the secret again is the fix, and a caller holding a cached
     * token can drop it. False when the key or the key service failed (a missing key,
     * throttling, no network), where dropping a cached secret would lose it for nothing.
     */
    readonly invalidCiphertext: boolean,
  ) {
    super(message);
  }
}
