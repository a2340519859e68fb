import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { buildOpenApi } from "../../runtime/api/openapi";
import { POLLER_ENV } from "../../runtime/lambda/environment";
import { encryptionContext } from "../../runtime/secrets/box";
import { DEVICE_PARTITION, tables as tableDefinitions } from "../../runtime/store/tables";
import {
  ACCOUNT,
  type ProgramRun,
  type ProgramScenario,
  REGION,
  type RecordedResource,
  runProgram,
} from "../support/pulumi";

const ROOT = path.resolve(__dirname, "../..");

// Distinct, random secrets per run: finding one anywhere can only mean it leaked there.
const PASSWORD = `pw-${crypto.randomBytes(12).toString("hex")}`;
const TOKEN = `tok-${crypto.randomBytes(12).toString("hex")}`;
const USERNAME = "owner@example.com";

const passwordStack: ProgramScenario = {
  config: {
    canaryUsername: USERNAME,
    canaryPassword: PASSWORD,
    alertEmail: "alerts@example.com",
    apiRateLimit: "7",
    apiBurstLimit: "9",
    apiQuotaPerDay: "1234",
    "aws:region": REGION,
  },
  secretKeys: ["canaryPassword"],
};

const TYPES = {
  key: "aws:kms/key:Key",
  ciphertext: "aws:kms/ciphertext:Ciphertext",
  table: "aws:dynamodb/table:Table",
  function: "aws:lambda/function:Function",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  permission: "aws:lambda/permission:Permission",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  restApi: "aws:apigateway/restApi:RestApi",
  deployment: "aws:apigateway/deployment:Deployment",
  stage: "aws:apigateway/stage:Stage",
  usagePlan: "aws:apigateway/usagePlan:UsagePlan",
  apiKey: "aws:apigateway/apiKey:ApiKey",
  usagePlanKey: "aws:apigateway/usagePlanKey:UsagePlanKey",
} as const;

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function statements(policy: unknown): Statement[] {
  return (JSON.parse(String(policy)) as { Statement: Statement[] }).Statement;
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The role policy attached to the role that `assumedBy` may assume. */
function policyOfRoleFor(run: ProgramRun, assumedBy: string): Statement[] {
  const role = run
    .ofType(TYPES.role)
    .find((candidate) =>
      JSON.stringify(statements(candidate.inputs.assumeRolePolicy)).includes(assumedBy),
    );
  if (!role) throw new Error(`no role assumable by ${assumedBy}`);
  const policies = run
    .ofType(TYPES.rolePolicy)
    .filter((policy) => policy.inputs.role === role.state.name);
  expect(policies, `policies of the ${assumedBy} role`).to.have.length(1);
  return statements((policies[0] as RecordedResource).inputs.policy);
}

/** Every string inside a value, assets' text included. */
async function strings(value: unknown): Promise<string[]> {
  if (typeof value === "string") return [value];
  if (pulumi.asset.Asset.isInstance(value)) {
    const text = (value as pulumi.asset.StringAsset).text;
    const file = (value as pulumi.asset.FileAsset).path;
    return [...(text ? [await text] : []), ...(file ? [await file] : [])];
  }
  if (pulumi.asset.Archive.isInstance(value)) {
    const assets = (value as pulumi.asset.AssetArchive).assets;
    const file = (value as pulumi.asset.FileArchive).path;
    if (file) return [await file];
    const found: string[] = [];
    for (const [name, inner] of Object.entries(await assets)) {
      found.push(name, ...(await strings(inner)));
    }
    return found;
  }
  if (Array.isArray(value)) return (await Promise.all((value as unknown[]).map(strings))).flat();
  if (value && typeof value === "object") {
    const found: string[] = [];
    for (const [key, inner] of Object.entries(value)) found.push(key, ...(await strings(inner)));
    return found;
  }
  return [];
}

describe("the Pulumi program", () => {
  let run: ProgramRun;
  let tokenRun: ProgramRun;
  let otherStack: ProgramRun;
  let byoKey: ProgramRun;

  before(async () => {
    run = await runProgram(passwordStack);
    tokenRun = await runProgram({
      config: { canaryToken: TOKEN, deletionProtection: "false", pollSchedule: "rate(10 minutes)" },
      secretKeys: ["canaryToken"],
    });
    otherStack = await runProgram({ ...passwordStack, stack: "other" });
    byoKey = await runProgram({
      ...passwordStack,
      config: {
        ...passwordStack.config,
        kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      },
    });
    for (const [label, measured] of Object.entries({ run, tokenRun, otherStack, byoKey })) {
      console.log(
        `      program ${label}: loaded in ${measured.importMs} ms, registered in ${measured.settleMs} ms, ${measured.resources.length} resources`,
      );
    }
  });

  describe("key", () => {
    it("creates a KMS key with automatic rotation when no key is given", () => {
      const key = run.one(TYPES.key);
      expect(key.inputs.enableKeyRotation).to.equal(true);
      expect(run.outputs.keyArn?.value).to.equal(key.state.arn);
      expect(run.outputs.keyId?.value).to.equal(key.state.keyId);
    });

    it("uses a given key everywhere and creates none", () => {
      const given = byoKey.outputs.keyArn?.value as string;
      expect(given).to.match(/:key\/1234abcd-/);
      expect(byoKey.ofType(TYPES.key)).to.have.length(0);
      for (const table of byoKey.ofType(TYPES.table)) {
        expect(table.inputs.serverSideEncryption).to.deep.include({ kmsKeyArn: given });
      }
      expect(byoKey.one(TYPES.function).inputs.kmsKeyArn).to.equal(given);
      expect(byoKey.one(TYPES.ciphertext).inputs.keyId).to.equal(given);
    });

    it("encrypts the password at deploy time with the canary-password context", () => {
      const ciphertext = run.one(TYPES.ciphertext);
      expect(ciphertext.inputs.plaintext).to.equal(PASSWORD);
      expect(ciphertext.secretInputs).to.include("plaintext");
      expect(ciphertext.inputs.keyId).to.equal(run.one(TYPES.key).state.arn);
      expect(ciphertext.inputs.context).to.deep.equal(encryptionContext("canary-password", "test"));
    });

    it("encrypts a given token with the canary-token context instead", () => {
      const ciphertext = tokenRun.one(TYPES.ciphertext);
      expect(ciphertext.inputs.plaintext).to.equal(TOKEN);
      expect(ciphertext.secretInputs).to.include("plaintext");
      expect(ciphertext.inputs.context).to.deep.equal(encryptionContext("canary-token", "test"));
      const variables = environmentOf(tokenRun);
      expect(variables[POLLER_ENV.tokenCiphertext]).to.equal(ciphertext.state.ciphertextBlob);
      expect(variables).not.to.have.any.keys(POLLER_ENV.passwordCiphertext, POLLER_ENV.username);
    });

    it("gives the Lambda only the ciphertext, in an environment encrypted with the key", () => {
      const fn = run.one(TYPES.function);
      const variables = environmentOf(run);
      expect(variables[POLLER_ENV.passwordCiphertext]).to.equal(
        run.one(TYPES.ciphertext).state.ciphertextBlob,
      );
      expect(variables[POLLER_ENV.username]).to.equal(USERNAME);
      expect(variables).not.to.have.any.keys(POLLER_ENV.tokenCiphertext);
      expect(fn.inputs.kmsKeyArn).to.equal(run.one(TYPES.key).state.arn);
    });
  });

  describe("tables", () => {
    it("builds one table per definition in runtime/store/tables.ts", () => {
      const tables = run.ofType(TYPES.table);
      expect(tables.map((table) => table.name).sort()).to.deep.equal(
        tableDefinitions.map((definition) => `canary-capture-${definition.name}`).sort(),
      );
      for (const definition of tableDefinitions) {
        const table = run.one(TYPES.table, `canary-capture-${definition.name}`);
        expect(table.inputs).to.deep.include({
          hashKey: definition.hashKey.name,
          rangeKey: definition.rangeKey.name,
          billingMode: "PAY_PER_REQUEST",
          deletionProtectionEnabled: true,
        });
        expect(table.inputs.attributes).to.deep.equal([
          { name: definition.hashKey.name, type: definition.hashKey.type },
          { name: definition.rangeKey.name, type: definition.rangeKey.type },
        ]);
        expect(table.inputs.ttl).to.deep.equal({
          attributeName: definition.ttlAttribute,
          enabled: true,
        });
        expect(table.inputs.pointInTimeRecovery).to.deep.include({ enabled: true });
        expect(table.inputs.serverSideEncryption).to.deep.equal({
          enabled: true,
          kmsKeyArn: run.one(TYPES.key).state.arn,
        });
      }
    });

    it("turns deletion protection off only when the config says so", () => {
      for (const table of tokenRun.ofType(TYPES.table)) {
        expect(table.inputs.deletionProtectionEnabled).to.equal(false);
      }
    });

    it("exports the table names", () => {
      expect(run.outputs.readingsTableName?.value).to.equal(
        run.one(TYPES.table, "canary-capture-readings").state.name,
      );
      expect(run.outputs.metadataTableName?.value).to.equal(
        run.one(TYPES.table, "canary-capture-metadata").state.name,
      );
    });
  });

  describe("poller", () => {
    it("runs on nodejs22.x and arm64, one run at a time, with time for a backfill", () => {
      const fn = run.one(TYPES.function);
      expect(fn.inputs).to.deep.include({
        runtime: "nodejs22.x",
        architectures: ["arm64"],
        reservedConcurrentExecutions: 1,
        memorySize: 256,
        handler: "__index.handler",
      });
      expect(fn.inputs.timeout).to.be.within(300, 900);
      expect(run.outputs.functionName?.value).to.equal(fn.state.name);
    });

    it("logs to its own log group, which has a retention", () => {
      const fn = run.one(TYPES.function);
      const logGroup = run.one(TYPES.logGroup);
      expect(fn.inputs.loggingConfig).to.deep.include({ logGroup: logGroup.state.name });
      expect(logGroup.inputs.retentionInDays).to.be.a("number").greaterThan(0);
    });

    it("sets every variable the entry reads, and the table names", () => {
      const variables = environmentOf(run);
      expect(variables).to.include({
        [POLLER_ENV.readingsTable]: run.one(TYPES.table, "canary-capture-readings").state.name,
        [POLLER_ENV.metadataTable]: run.one(TYPES.table, "canary-capture-metadata").state.name,
        [POLLER_ENV.keyId]: run.one(TYPES.key).state.arn,
        [POLLER_ENV.backfillHours]: "24",
        [POLLER_ENV.retentionDays]: "0",
      });
    });

    it("does not retry a failed or late asynchronous invocation", () => {
      const config = run.one(TYPES.invokeConfig);
      expect(config.inputs).to.deep.include({
        functionName: run.one(TYPES.function).state.name,
        maximumRetryAttempts: 0,
        maximumEventAgeInSeconds: 60,
      });
    });

    it("grants the poller exactly the DynamoDB actions its shipped code sends, per table", async () => {
      const used = await dynamoActionsShipped(run);
      const granted = policyOfRoleFor(run, "lambda.amazonaws.com");
      const grantedOn = (table: string) =>
        granted
          .filter((statement) => list(statement.Resource).includes(table))
          .flatMap((statement) => list(statement.Action))
          .sort();
      expect(
        grantedOn(run.one(TYPES.table, "canary-capture-readings").state.arn as string),
      ).to.deep.equal(used.readings);
      expect(
        grantedOn(run.one(TYPES.table, "canary-capture-metadata").state.arn as string),
      ).to.deep.equal(used.metadata);
    });

    it("lets the poller use the key for its secrets and write only its own log group", () => {
      const granted = policyOfRoleFor(run, "lambda.amazonaws.com");
      const kms = granted.find((statement) => statement.Sid === "Secrets");
      expect(list(kms?.Action).sort()).to.deep.equal(["kms:Decrypt", "kms:Encrypt"]);
      expect(kms?.Resource).to.equal(run.one(TYPES.key).state.arn);
      expect(kms?.Condition).to.deep.equal({
        StringEquals: {
          "kms:EncryptionContext:app": encryptionContext("canary-password").app,
          // Stacks sharing a key (kmsKeyArn) cannot open each other's secrets.
          "kms:EncryptionContext:stack": "test",
        },
      });

      const logs = granted.find((statement) =>
        list(statement.Action).some((a) => a.startsWith("logs:")),
      );
      expect(list(logs?.Action).sort()).to.deep.equal([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
      ]);
      expect(logs?.Resource).to.equal(`${run.one(TYPES.logGroup).state.arn}:*`);

      // The tables are encrypted with the key too: usable for them only through DynamoDB.
      const tables = granted.find((statement) => statement.Sid === "TableEncryption");
      expect(list(tables?.Action).sort()).to.deep.equal([
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
      ]);
      expect(tables?.Resource).to.equal(run.one(TYPES.key).state.arn);
      expect(tables?.Condition).to.deep.equal({
        StringEquals: { "kms:ViaService": `dynamodb.${REGION}.amazonaws.com` },
      });
      expect(granted).to.have.length(5);
    });

    it("packages only run-time code: no Pulumi SDK, no dev packages, no serialized runtime", async () => {
      const assets = await archiveOf(run);
      const names = Object.keys(assets);
      const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
        devDependencies: Record<string, string>;
      };
      expect(names).to.include.members(["__index.js", "dist/lambda"]);
      expect(names.filter((name) => name.startsWith("node_modules/@pulumi"))).to.deep.equal([]);
      for (const dev of Object.keys(packageJson.devDependencies)) {
        expect(names).not.to.include(`node_modules/${dev}`);
      }
      const index = await (assets["__index.js"] as pulumi.asset.StringAsset).text;
      expect(index).to.include('"./dist/lambda/runtime/lambda/poller.js"');
      expect(index).to.include("require(entryPath)");
      expect(index.length, "the serialized callback only loads the shipped entry").to.be.below(
        2000,
      );
    });
  });

  describe("schedule", () => {
    it("invokes the function on pollSchedule, rate(5 minutes) by default", () => {
      expect(run.one(TYPES.rule).inputs.scheduleExpression).to.equal("rate(5 minutes)");
      expect(tokenRun.one(TYPES.rule).inputs.scheduleExpression).to.equal("rate(10 minutes)");
    });

    it("targets the function without retries", () => {
      const target = run.one(TYPES.target);
      expect(target.inputs).to.deep.include({
        rule: run.one(TYPES.rule).state.name,
        arn: run.one(TYPES.function).state.arn,
      });
      expect(target.inputs.retryPolicy).to.deep.include({ maximumRetryAttempts: 0 });
    });

    it("lets only that rule invoke the function", () => {
      const permissions = run.ofType(TYPES.permission);
      expect(permissions).to.have.length(1);
      expect(permissions[0]?.inputs).to.deep.equal({
        action: "lambda:InvokeFunction",
        function: run.one(TYPES.function).state.name,
        principal: "events.amazonaws.com",
        sourceArn: run.one(TYPES.rule).state.arn,
      });
    });
  });

  describe("alarm", () => {
    it("alarms on any poller error and notifies the topic", () => {
      const alarm = run.one(TYPES.alarm);
      const topicArn = run.one(TYPES.topic).state.arn;
      expect(alarm.inputs).to.deep.include({
        namespace: "AWS/Lambda",
        metricName: "Errors",
        statistic: "Sum",
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
      });
      expect(alarm.inputs.dimensions).to.deep.equal({
        FunctionName: run.one(TYPES.function).state.name,
      });
      expect(alarm.inputs.alarmActions).to.deep.equal([topicArn]);
    });

    it("subscribes alertEmail to the topic, and nobody when it is not set", () => {
      const subscription = run.one(TYPES.subscription);
      expect(subscription.inputs).to.deep.include({
        topic: run.one(TYPES.topic).state.arn,
        protocol: "email",
        endpoint: "alerts@example.com",
      });
      expect(tokenRun.ofType(TYPES.subscription)).to.have.length(0);
      expect(tokenRun.ofType(TYPES.alarm)).to.have.length(1);
    });
  });

  describe("read API", () => {
    it("lets only API Gateway acting for this account assume the integration role", () => {
      const integrationRole = run
        .ofType(TYPES.role)
        .find((role) => String(role.inputs.assumeRolePolicy).includes("apigateway.amazonaws.com"));
      expect(statements(integrationRole?.inputs.assumeRolePolicy)).to.deep.equal([
        {
          Effect: "Allow",
          Principal: { Service: "apigateway.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
        },
      ]);
    });

    it("deploys the OpenAPI document of runtime/api as a regional REST API", () => {
      const api = run.one(TYPES.restApi);
      const integrationRole = run
        .ofType(TYPES.role)
        .find((role) => String(role.inputs.assumeRolePolicy).includes("apigateway.amazonaws.com"));
      const expected = buildOpenApi({
        tables: {
          readings: run.outputs.readingsTableName?.value as string,
          metadata: run.outputs.metadataTableName?.value as string,
        },
        region: REGION,
        credentialsRoleArn: integrationRole?.state.arn as string,
      });
      expect(JSON.parse(String(api.inputs.body))).to.deep.equal(
        JSON.parse(JSON.stringify(expected)),
      );
      expect(api.inputs.endpointConfiguration).to.deep.include({ types: "REGIONAL" });
    });

    it("redeploys whenever the document changes, and only then", async () => {
      const trigger = (of: ProgramRun) =>
        (of.one(TYPES.deployment).inputs.triggers as Record<string, string>).body;
      const body = String(run.one(TYPES.restApi).inputs.body);
      expect(trigger(run)).to.equal(crypto.createHash("sha256").update(body).digest("hex"));
      expect(trigger(otherStack), "other table names, other document").not.to.equal(trigger(run));
      expect(trigger(await runProgram(passwordStack)), "same document").to.equal(trigger(run));
    });

    it("serves a stage of the latest deployment, exported as the endpoint", () => {
      const stage = run.one(TYPES.stage);
      expect(stage.inputs).to.deep.include({
        restApi: run.one(TYPES.restApi).state.name,
        deployment: `${run.one(TYPES.deployment).name}-id`,
      });
      expect(run.outputs.endpoint?.value).to.equal(stage.state.invokeUrl);
      expect(run.outputs.endpoint?.secret).to.equal(false);
    });

    it("meters the API key with the configured throttling and daily quota", () => {
      const plan = run.one(TYPES.usagePlan);
      expect(plan.inputs.throttleSettings).to.deep.equal({ rateLimit: 7, burstLimit: 9 });
      expect(plan.inputs.quotaSettings).to.deep.equal({ limit: 1234, period: "DAY" });
      expect(plan.inputs.apiStages).to.deep.equal([
        {
          apiId: run.one(TYPES.stage).inputs.restApi,
          stage: run.one(TYPES.stage).inputs.stageName,
        },
      ]);
      const attached = run.one(TYPES.usagePlanKey);
      expect(attached.inputs).to.deep.equal({
        keyId: run.one(TYPES.apiKey).state.name,
        keyType: "API_KEY",
        usagePlanId: plan.state.name,
      });
      expect(run.one(TYPES.apiKey).inputs.enabled).to.equal(true);
    });

    it("exports the generated API key as a secret", () => {
      expect(run.outputs.apiKey?.secret).to.equal(true);
      expect(run.outputs.apiKey?.value).to.equal(run.one(TYPES.apiKey).state.value);
    });

    it("requires an API key on every method except the dashboard", () => {
      const document = JSON.parse(String(run.one(TYPES.restApi).inputs.body)) as OpenApiDocument;
      const keySchemes = Object.entries(document.components?.securitySchemes ?? {})
        .filter(([, scheme]) => scheme.type === "apiKey" && scheme.in === "header")
        .map(([name]) => name);
      expect(keySchemes).to.have.length.greaterThan(0);

      const open: string[] = [];
      let methods = 0;
      for (const [route, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          if (!HTTP_METHODS.has(method)) continue;
          methods++;
          const security = operation.security ?? document.security ?? [];
          const keyed = security.some((requirement) =>
            Object.keys(requirement).some((scheme) => keySchemes.includes(scheme)),
          );
          if (!keyed) open.push(`${method.toUpperCase()} ${route}`);
        }
      }
      expect(methods).to.be.greaterThan(1);
      // The dashboard (an HTML page, when the document has one) is the only open method.
      expect(open.filter((method) => !/^GET \/(dashboard\b.*)?$/.test(method))).to.deep.equal([]);
    });

    it("lets the integration role only query the two tables, and only device records of the metadata", () => {
      const granted = policyOfRoleFor(run, "apigateway.amazonaws.com");
      const readingsArn = run.one(TYPES.table, "canary-capture-readings").state.arn;
      const metadataArn = run.one(TYPES.table, "canary-capture-metadata").state.arn;
      expect(granted).to.have.length(3);
      expect(
        granted
          .filter((statement) => statement.Sid !== "TableEncryption")
          .flatMap((statement) => list(statement.Action)),
      ).to.deep.equal(["dynamodb:Query", "dynamodb:Query"]);
      const key = granted.find((statement) => statement.Sid === "TableEncryption");
      expect(list(key?.Action).sort()).to.deep.equal(["kms:Decrypt", "kms:DescribeKey"]);
      expect(key?.Resource).to.equal(run.one(TYPES.key).state.arn);
      expect(key?.Condition).to.deep.equal({
        StringEquals: { "kms:ViaService": `dynamodb.${REGION}.amazonaws.com` },
      });
      const onReadings = granted.find((statement) => statement.Resource === readingsArn);
      expect(onReadings?.Condition).to.equal(undefined);
      // Every statement that reaches the metadata table, however it names it, is held to
      // the device partition: a widened resource list must not bypass the condition.
      const onMetadata = granted.filter((statement) =>
        list(statement.Resource).some((resource) => resource.startsWith(String(metadataArn))),
      );
      expect(onMetadata).to.have.length(1);
      for (const statement of onMetadata) {
        expect(list(statement.Resource)).to.deep.equal([String(metadataArn)]);
        expect(statement.Condition).to.deep.equal({
          "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [DEVICE_PARTITION] },
        });
      }
      for (const statement of granted) expect(list(statement.Resource)).to.have.length(1);
    });
  });

  describe("across the stack", () => {
    it("uses no wildcard action or resource in any policy", () => {
      for (const policy of [
        ...run.ofType(TYPES.rolePolicy),
        ...tokenRun.ofType(TYPES.rolePolicy),
      ]) {
        for (const statement of statements(policy.inputs.policy)) {
          expect(statement.Effect).to.equal("Allow");
          for (const action of list(statement.Action)) expect(action).not.to.include("*");
          for (const resource of list(statement.Resource)) {
            expect(resource).not.to.equal("*");
            expect(resource.replace(/:\*$/, "")).not.to.include("*");
          }
        }
      }
      // CallbackFunction attaches broad managed policies when it creates the role itself.
      expect(
        run.resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment"),
      ).to.deep.equal([]);
    });

    it("puts no plaintext password, token or secret config value in any resource input but the Ciphertext's", async () => {
      for (const [measured, secret] of [
        [run, PASSWORD],
        [tokenRun, TOKEN],
      ] as const) {
        for (const resource of measured.resources) {
          if (resource.type === TYPES.ciphertext) {
            const { plaintext, ...rest } = resource.inputs;
            expect(plaintext).to.equal(secret);
            expect((await strings(rest)).join("\n")).not.to.include(secret);
            continue;
          }
          const found = (await strings(resource.inputs)).filter((text) => text.includes(secret));
          expect(found, `${resource.type} ${resource.name}`).to.deep.equal([]);
        }
        for (const [name, output] of Object.entries(measured.outputs)) {
          expect(JSON.stringify(output.value) ?? "", `output ${name}`).not.to.include(secret);
        }
      }
    });

    it("sets no fixed physical name, so two stacks can share an account", () => {
      const physical = (of: ProgramRun) =>
        of.resources
          .filter((resource) => resource.custom)
          .flatMap((resource) =>
            Object.entries(resource.state)
              .filter(([key, value]) => PHYSICAL_NAME_KEYS.has(key) && typeof value === "string")
              .map(([key, value]) => `${resource.type} ${key}=${String(value)}`),
          );
      for (const resource of run.resources) {
        expect(resource.inputs.name, `${resource.type} ${resource.name} sets a name`).to.equal(
          undefined,
        );
      }
      const mine = physical(run);
      const theirs = new Set(physical(otherStack));
      expect(mine.length).to.be.greaterThan(10);
      expect(mine.filter((name) => theirs.has(name))).to.deep.equal([]);
    });
  });
});

/** State properties that hold a physical name; a stage name is scoped to its API. */
const PHYSICAL_NAME_KEYS = new Set([
  "name",
  "namePrefix",
  "functionName",
  "tableName",
  "roleName",
  "topicName",
  "alarmName",
  "logGroupName",
  "ruleName",
]);

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch"]);

interface OpenApiDocument {
  paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
  security?: Array<Record<string, string[]>>;
  components?: { securitySchemes?: Record<string, { type: string; in?: string; name?: string }> };
}

function environmentOf(of: ProgramRun): Record<string, string> {
  const environment = of.one(TYPES.function).inputs.environment as {
    variables: Record<string, string>;
  };
  return environment.variables;
}

async function archiveOf(
  of: ProgramRun,
): Promise<Record<string, pulumi.asset.Asset | pulumi.asset.Archive>> {
  const code = of.one(TYPES.function).inputs.code as pulumi.asset.AssetArchive;
  return code.assets;
}

/** DynamoDB document-client commands → IAM actions. */
const ACTION_OF_COMMAND: Record<string, string> = {
  BatchGetCommand: "dynamodb:BatchGetItem",
  BatchWriteCommand: "dynamodb:BatchWriteItem",
  DeleteCommand: "dynamodb:DeleteItem",
  GetCommand: "dynamodb:GetItem",
  PutCommand: "dynamodb:PutItem",
  QueryCommand: "dynamodb:Query",
  ScanCommand: "dynamodb:Scan",
  TransactGetCommand: "dynamodb:GetItem",
  TransactWriteCommand: "dynamodb:PutItem",
  UpdateCommand: "dynamodb:UpdateItem",
  // store/dynamo.ts's paginating helper: a Query per page.
  queryAll: "dynamodb:Query",
};

/**
 * The DynamoDB actions the shipped modules send, per table. The store modules own one
 * table each (readings.ts the readings, metadata.ts the metadata); a command anywhere
 * else could go to either table and fails the test until it is attributed.
 */
async function dynamoActionsShipped(
  of: ProgramRun,
): Promise<{ readings: string[]; metadata: string[] }> {
  const assets = await archiveOf(of);
  const dir = await (assets["dist/lambda"] as pulumi.asset.FileArchive).path;
  const used = { readings: new Set<string>(), metadata: new Set<string>() };
  const walk = (folder: string): string[] =>
    fs
      .readdirSync(folder, { withFileTypes: true })
      .flatMap((entry) =>
        entry.isDirectory() ? walk(path.join(folder, entry.name)) : [path.join(folder, entry.name)],
      );
  for (const file of walk(path.resolve(ROOT, dir))) {
    const commands = [
      ...fs
        .readFileSync(file, "utf8")
        .matchAll(/\b(?:lib|ddb)\.(\w+Command)\b|\b(?:dynamo_1\.)(queryAll)\b/g),
    ].map((match) => (match[1] ?? match[2]) as string);
    if (commands.length === 0) continue;
    const owner = file.endsWith(`store${path.sep}readings.js`)
      ? used.readings
      : file.endsWith(`store${path.sep}metadata.js`)
        ? used.metadata
        : undefined;
    const actions = commands.map((command) => ACTION_OF_COMMAND[command]);
    if (file.endsWith(`store${path.sep}dynamo.js`)) {
      // ensureTables creates tables for the local mode; the Lambda never calls it. queryAll
      // is counted where it is called, against the table of the store that calls it.
      continue;
    }
    expect(owner, `${file} sends ${commands.join(", ")}`).not.to.equal(undefined);
    expect(actions, `${file} sends an unmapped command`).not.to.include(undefined);
    for (const action of actions) owner?.add(action as string);
  }
  return { readings: [...used.readings].sort(), metadata: [...used.metadata].sort() };
}
