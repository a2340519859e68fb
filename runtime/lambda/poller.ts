import * as canaryClient from "../canary/client";
import * as poll from "../capture/poll";
import type { Credentials } from "../capture/session";
import * as clock from "../clock";
import * as log from "../log";
import type { SecretBox } from "../secrets/box";
import * as kms from "../secrets/kms";
import * as dynamo from "../store/dynamo";
import * as environment from "./environment";

/** The part of Lambda's context object the poller uses. */
export interface LambdaContext {
  awsRequestId?: string;
}

/**
 * The poller Lambda: one poll cycle per scheduled invocation. Everything comes from the
 * environment the Pulumi program sets (see `environment.ts`); the Canary credentials
 * arrive as KMS ciphertexts and are opened here, so plaintext never sits in the function's
 * configuration. A run that is not ok throws after the summary is logged, so Lambda's
 * Errors metric, and the alarm on it, see every failed run.
 */
export async function handler(_event: unknown, context?: LambdaContext): Promise<poll.PollSummary> {
  const env = environment.readPollerEnvironment(process.env);
  const logger = log.createLogger({
    level: env.logLevel,
    ...(context?.awsRequestId ? { fields: { requestId: context.awsRequestId } } : {}),
  });

  // Endpoints come from the SDK's own resolution (AWS_ENDPOINT_URL_*), as in any Lambda.
  const box = kms.createKmsBox({ keyId: env.keyId, stack: env.stack });
  const credentials = await openCredentials(box, env.credentials);
  const store = dynamo.createDynamo();
  try {
    const summary = await poll.runPoll({
      clock: clock.systemClock,
      log: logger,
      canary: canaryClient.createCanaryClient({
        clock: clock.systemClock,
        log: logger,
        ...(env.canaryApiUrl ? { baseUrl: env.canaryApiUrl } : {}),
      }),
      credentials,
      dynamo: store.doc,
      tables: env.tables,
      box,
      settings: {
        ...(env.backfillHours !== undefined ? { backfillHours: env.backfillHours } : {}),
        ...(env.retentionDays !== undefined ? { retentionDays: env.retentionDays } : {}),
      },
    });
    // runPoll has logged the summary ("poll finished"); the error only has to carry the gist.
    if (!summary.ok) {
      throw new Error(
        `poll run failed with ${summary.errors} error(s)${summary.error ? `: ${summary.error}` : ""}; see the "poll finished" log line`,
      );
    }
    return summary;
  } finally {
    store.client.destroy();
  }
}

async function openCredentials(
  box: SecretBox,
  sealed: environment.SealedCredentials,
): Promise<Credentials> {
  if ("tokenCiphertext" in sealed) {
    return { token: await box.open("canary-token", sealed.tokenCiphertext) };
  }
  return {
    username: sealed.username,
    password: await box.open("canary-password", sealed.passwordCiphertext),
  };
}
