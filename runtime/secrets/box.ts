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

/**
 * The KMS encryption context of a secret; the Pulumi program uses the same one at deploy
 * time. `stack` binds a ciphertext to one stack, so stacks sharing a key (`kmsKeyArn`)
 * cannot open each other's secrets: the poller's role may only use the key with its own.
 */
export function encryptionContext(purpose: SecretPurpose, stack?: string): Record<string, string> {
  return { app: "canary-capture", ...(stack ? { stack } : {}), purpose };
}
