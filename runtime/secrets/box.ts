/**
 * Seals and opens small secrets: the cached Canary token, the Canary password, a rejected
 * login's credentials. `purpose` is bound to the ciphertext (a KMS encryption context, or
 * AES-GCM additional data), so a ciphertext sealed for one purpose cannot be opened as
 * another. Ciphertexts are base64 strings and are themselves never logged.
 */
export interface SecretBox {
  seal(purpose: SecretPurpose, plaintext: string): Promise<string>;
  open(purpose: SecretPurpose, ciphertext: string): Promise<string>;
}

export type SecretPurpose = "canary-token" | "canary-password" | "login-failure";

/** The KMS encryption context used for every purpose; also used at deploy time. */
export function encryptionContext(purpose: SecretPurpose): Record<string, string> {
  return { app: "canary-capture", purpose };
}
