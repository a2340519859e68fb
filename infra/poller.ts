import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { POLLER_ENV } from "../runtime/lambda/environment";
import type { LambdaContext } from "../runtime/lambda/poller";
import type { LogLevel } from "../runtime/log";
import { encryptionContext } from "../runtime/secrets/box";
import type { TableNames } from "../runtime/store/tables";
import { buildLambdaSource } from "./lambdaSource";

/** The Canary credentials, as secret outputs; only their KMS ciphertext reaches the Lambda. */
export type PollerCredentials =
  | { username: pulumi.Input<string>; password: pulumi.Input<string> }
  | { token: pulumi.Input<string> };

export interface PollerArgs {
  /** Physical names of the two tables. */
  tableNames: pulumi.Input<TableNames>;
  /** ARNs of the two tables; the function may touch no other table. */
  tableArns: pulumi.Input<TableNames>;
  /** ARN of the stack's KMS key: seals the credentials and encrypts the environment. */
  keyArn: pulumi.Input<string>;
  /** The owner's password (with the account e-mail), or a token they obtained. */
  credentials: PollerCredentials;
  /** Base URL of Canary's API. @default the client's built-in "https://api.canaryis.com" */
  canaryApiUrl?: pulumi.Input<string>;
  /** Hours fetched for a device seen for the first time. @default 24 */
  backfillHours?: pulumi.Input<number>;
  /** Days after which stored readings expire; 0 keeps them. @default 0 */
  retentionDays?: pulumi.Input<number>;
  /**
   * Memory in MB; also buys CPU, which the SDK's start-up and JSON parsing use.
   * @default 256
   */
  memorySize?: number;
  /**
   * Seconds one run may take. A first 24-hour backfill of ten four-sensor devices at Canary's
   * worst observed page size (20 rows) is 10 × 5,760 / 20 = 2,880 page requests, about five
   * minutes at 0.2 s each with two devices at a time; twice that leaves room for retries.
   * Progress is committed per 6-hour step, so a run cut short loses nothing.
   * @default 600
   */
  timeout?: number;
  /** Days the function's log lines are kept. @default 30 */
  logRetentionDays?: number;
  /** Lowest level logged. @default "info" */
  logLevel?: LogLevel;
  /**
   * Where the transpiled runtime modules are written before packaging; under the working
   * directory, which is the project root when Pulumi runs.
   * @default "dist/lambda"
   */
  buildDir?: string;
}

/**
 * The scheduled poller: a Lambda running one poll cycle per invocation, with its own role,
 * log group and the Canary credentials sealed with the stack's key at deploy time.
 * Runs never overlap (reserved concurrency 1), and a run that could not start promptly is
 * dropped rather than queued: the next run re-reads the window from the stored cursor.
 */
export class Poller extends pulumi.ComponentResource {
  readonly function: aws.lambda.CallbackFunction<unknown, unknown>;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  /** The deploy-time ciphertext of the password or token. */
  readonly credentialsCiphertext: aws.kms.Ciphertext;
  readonly functionName: pulumi.Output<string>;
  readonly functionArn: pulumi.Output<string>;

  constructor(name: string, args: PollerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("canary-capture:index:Poller", name, {}, opts);

    // Sealed with the same context the runtime's SecretBox opens it with.
    const stack = pulumi.getStack();
    const purpose = "token" in args.credentials ? "canary-token" : "canary-password";
    this.credentialsCiphertext = new aws.kms.Ciphertext(
      `${name}-${"token" in args.credentials ? "token" : "password"}`,
      {
        keyId: args.keyArn,
        plaintext: pulumi.secret(
          "token" in args.credentials ? args.credentials.token : args.credentials.password,
        ),
        context: encryptionContext(purpose, stack),
      },
      { parent: this },
    );

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-poller-logs`,
      { retentionInDays: args.logRetentionDays ?? 30 },
      { parent: this },
    );

    this.role = new aws.iam.Role(
      `${name}-poller-role`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "lambda.amazonaws.com" },
              Action: "sts:AssumeRole",
            },
          ],
        }),
      },
      { parent: this },
    );

    const tableArns = pulumi.output(args.tableArns);
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const policy = new aws.iam.RolePolicy(
      `${name}-poller-policy`,
      {
        role: this.role.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            // Exactly what runtime/store sends: readings.ts batches and queries minutes and
            // rollups; metadata.ts keeps devices, cursors, the token and login failures.
            {
              Sid: "Readings",
              Effect: "Allow",
              Action: ["dynamodb:BatchWriteItem", "dynamodb:Query"],
              Resource: tableArns.readings,
            },
            {
              Sid: "Metadata",
              Effect: "Allow",
              Action: [
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
              ],
              Resource: tableArns.metadata,
            },
            {
              Sid: "Secrets",
              Effect: "Allow",
              Action: ["kms:Decrypt", "kms:Encrypt"],
              Resource: args.keyArn,
              // Only this application's ciphertexts, whatever else the key may protect.
              Condition: {
                StringEquals: {
                  "kms:EncryptionContext:app": encryptionContext(purpose).app,
                  "kms:EncryptionContext:stack": stack,
                },
              },
            },
            {
              // The tables are encrypted with the same key; DynamoDB uses it on the
              // caller's behalf, and only through DynamoDB.
              Sid: "TableEncryption",
              Effect: "Allow",
              Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
              Resource: args.keyArn,
              Condition: {
                StringEquals: {
                  "kms:ViaService": pulumi.interpolate`dynamodb.${region}.amazonaws.com`,
                },
              },
            },
            {
              Sid: "Logs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: pulumi.interpolate`${this.logGroup.arn}:*`,
            },
          ],
        }),
      },
      { parent: this },
    );

    const source = buildLambdaSource({
      entry: "runtime/lambda/poller.ts",
      projectRoot: path.resolve(__dirname, ".."),
      outDir: args.buildDir ?? "dist/lambda",
    });
    const entryPath = source.entryRequirePath;
    const tableNames = pulumi.output(args.tableNames);
    const variables: Record<string, pulumi.Input<string>> = {
      [POLLER_ENV.readingsTable]: tableNames.readings,
      [POLLER_ENV.metadataTable]: tableNames.metadata,
      [POLLER_ENV.keyId]: args.keyArn,
      [POLLER_ENV.stack]: stack,
      [POLLER_ENV.backfillHours]: pulumi.output(args.backfillHours ?? 24).apply(String),
      [POLLER_ENV.retentionDays]: pulumi.output(args.retentionDays ?? 0).apply(String),
      [POLLER_ENV.logLevel]: args.logLevel ?? "info",
    };
    if ("token" in args.credentials) {
      variables[POLLER_ENV.tokenCiphertext] = this.credentialsCiphertext.ciphertextBlob;
    } else {
      variables[POLLER_ENV.username] = args.credentials.username;
      variables[POLLER_ENV.passwordCiphertext] = this.credentialsCiphertext.ciphertextBlob;
    }
    if (args.canaryApiUrl !== undefined) variables[POLLER_ENV.canaryApiUrl] = args.canaryApiUrl;

    this.function = new aws.lambda.CallbackFunction<unknown, unknown>(
      `${name}-poller`,
      {
        // Loads the transpiled entry shipped beside __index.js (see lambdaSource.ts).
        callback: async (event: unknown, context: LambdaContext) => {
          const poller: typeof import("../runtime/lambda/poller") = require(entryPath);
          return poller.handler(event, context);
        },
        codePathOptions: {
          extraIncludePaths: [source.includePath],
          // Deploy-time packages: the function never loads them.
          extraExcludePackages: ["@pulumi/pulumi", "@pulumi/aws"],
        },
        role: this.role,
        runtime: aws.lambda.Runtime.NodeJS22dX,
        architectures: ["arm64"],
        memorySize: args.memorySize ?? 256,
        timeout: args.timeout ?? 600,
        reservedConcurrentExecutions: 1,
        kmsKeyArn: args.keyArn,
        loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
        environment: { variables },
      },
      // The role must be able to write logs before the first invocation.
      { parent: this, dependsOn: [policy, this.logGroup] },
    );

    // Scheduled invocations are asynchronous: no retries, and an event that could not start
    // within a minute (a run still going) is dropped; the next run covers its window.
    new aws.lambda.FunctionEventInvokeConfig(
      `${name}-poller-invoke-config`,
      {
        functionName: this.function.name,
        maximumRetryAttempts: 0,
        maximumEventAgeInSeconds: 60,
      },
      { parent: this },
    );

    this.functionName = this.function.name;
    this.functionArn = this.function.arn;
    this.registerOutputs({
      functionName: this.functionName,
      functionArn: this.functionArn,
      logGroupName: this.logGroup.name,
    });
  }
}
