import * as pulumi from "@pulumi/pulumi";
import { isSafeCanaryUrl } from "../runtime/canary/client";
import type { PollerCredentials } from "./poller";

/**
 * The stack's settings, read from Pulumi config and checked before any resource is
 * declared. Every key is declared, with its type and default, in `Pulumi.yaml`; an empty
 * string there means "not set", since Pulumi requires every declared key without a default.
 */
export interface StackSettings {
  /** From `canaryUsername` with `canaryPassword`, or `canaryToken`; secret outputs. */
  credentials: PollerCredentials;
  /** `kmsKeyArn`: an existing key to use. @default undefined: the stack creates one */
  kmsKeyArn?: string;
  /** `pollSchedule`. @default "rate(5 minutes)" */
  pollSchedule: string;
  /** `backfillHours`. @default 24 */
  backfillHours: number;
  /** `retentionDays`: 0 keeps readings forever. @default 0 */
  retentionDays: number;
  /** `apiRateLimit`: steady requests per second per API key. @default 10 */
  apiRateLimit: number;
  /** `apiBurstLimit`: burst requests per API key. @default 20 */
  apiBurstLimit: number;
  /** `apiQuotaPerDay`: requests per API key per day. @default 10000 */
  apiQuotaPerDay: number;
  /** `alertEmail`: receives alarm e-mails. @default undefined: no subscription */
  alertEmail?: string;
  /** `canaryApiUrl`: Canary's API base URL. @default undefined: the client's default */
  canaryApiUrl?: string;
  /** `deletionProtection`: DynamoDB refuses to delete the tables. @default true */
  deletionProtection: boolean;
}

/** The internal check for a secret config value; absent in SDKs that do not have it. */
type IsConfigSecret = (fullKey: string) => boolean;

export function readSettings(config: pulumi.Config = new pulumi.Config()): StackSettings {
  const text = (key: string): string | undefined => config.get(key)?.trim() || undefined;
  const integer = (key: string, fallback: number, min: number, max: number): number => {
    const value = config.getNumber(key) ?? fallback;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new pulumi.RunError(
        `Config ${config.name}:${key} must be a whole number from ${min} to ${max}, got ${value}`,
      );
    }
    return value;
  };

  const credentials = readCredentials(config);

  const kmsKeyArn = text("kmsKeyArn");
  // IAM grants and DynamoDB encryption need the key's ARN; an alias would not match either.
  if (kmsKeyArn && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(kmsKeyArn)) {
    throw new pulumi.RunError(
      `Config ${config.name}:kmsKeyArn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), got "${kmsKeyArn}"`,
    );
  }
  // DynamoDB and Lambda take only a key of their own region; say so before AWS does.
  const region = new pulumi.Config("aws").get("region");
  const keyRegion = kmsKeyArn?.split(":")[3];
  if (kmsKeyArn && region && keyRegion !== region) {
    throw new pulumi.RunError(
      `Config ${config.name}:kmsKeyArn is a key in ${keyRegion}, but the stack deploys to ${region} (aws:region); use a key of ${region}`,
    );
  }

  const pollSchedule = text("pollSchedule") ?? "rate(5 minutes)";
  if (!/^(rate|cron)\(.+\)$/.test(pollSchedule)) {
    throw new pulumi.RunError(
      `Config ${config.name}:pollSchedule must be an EventBridge schedule expression such as "rate(5 minutes)", got "${pollSchedule}"`,
    );
  }

  const alertEmail = text("alertEmail");
  if (alertEmail && !/^[^@\s]+@[^@\s]+$/.test(alertEmail)) {
    throw new pulumi.RunError(
      `Config ${config.name}:alertEmail must be an e-mail address, got "${alertEmail}"`,
    );
  }

  const canaryApiUrl = text("canaryApiUrl");
  // The password travels to this URL: plain http only to the machine itself.
  if (canaryApiUrl && !isSafeCanaryUrl(canaryApiUrl)) {
    throw new pulumi.RunError(
      `Config ${config.name}:canaryApiUrl must be an https URL (http only for localhost), got "${canaryApiUrl}"`,
    );
  }

  return {
    credentials,
    kmsKeyArn,
    pollSchedule,
    // A week is as far back as the poll cycle catches up after an outage.
    backfillHours: integer("backfillHours", 24, 1, 168),
    retentionDays: integer("retentionDays", 0, 0, 36_500),
    apiRateLimit: integer("apiRateLimit", 10, 1, 10_000),
    apiBurstLimit: integer("apiBurstLimit", 20, 1, 5_000),
    apiQuotaPerDay: integer("apiQuotaPerDay", 10_000, 1, 100_000_000),
    alertEmail,
    canaryApiUrl,
    deletionProtection: config.getBoolean("deletionProtection") ?? true,
  };
}

function readCredentials(config: pulumi.Config): PollerCredentials {
  const password = config.get("canaryPassword") || undefined;
  const token = config.get("canaryToken") || undefined;
  const both = `${config.name}:canaryPassword and ${config.name}:canaryToken`;
  if (password && token) {
    throw new pulumi.RunError(
      `Config ${both} are both set; set exactly one of them: remove one with \`pulumi config rm canaryToken\` or \`pulumi config rm canaryPassword\``,
    );
  }
  if (!password && !token) {
    throw new pulumi.RunError(
      `Config ${both} are both unset; set exactly one of them: \`pulumi config set --secret canaryPassword\` (with canaryUsername), or \`pulumi config set --secret canaryToken\` for an account with two-factor authentication`,
    );
  }

  const key = password ? "canaryPassword" : "canaryToken";
  const isConfigSecret = (pulumi.runtime as { isConfigSecret?: IsConfigSecret }).isConfigSecret;
  if (isConfigSecret && !isConfigSecret(`${config.name}:${key}`)) {
    throw new pulumi.RunError(
      `Config ${config.name}:${key} is stored in plain text; set it again with \`pulumi config set --secret ${key}\``,
    );
  }

  if (token) return { token: pulumi.secret(token) };
  const username = config.get("canaryUsername")?.trim();
  if (!username) {
    throw new pulumi.RunError(
      `Config ${config.name}:canaryUsername is required with canaryPassword: \`pulumi config set canaryUsername you@example.com\``,
    );
  }
  return { username, password: pulumi.secret(password as string) };
}
