import * as pulumi from "@pulumi/pulumi";
import { Alarms } from "./infra/alarms";
import { ReadApi } from "./infra/api";
import { readSettings } from "./infra/config";
import { Key } from "./infra/key";
import { Poller } from "./infra/poller";
import { Schedule } from "./infra/schedule";
import { Tables } from "./infra/tables";

// Reads and checks every config key before declaring anything; see Pulumi.yaml.
const settings = readSettings(new pulumi.Config());
const name = pulumi.getProject();

const key = new Key(name, { existingKeyArn: settings.kmsKeyArn });

const tables = new Tables(name, {
  keyArn: key.arn,
  deletionProtection: settings.deletionProtection,
});

const poller = new Poller(name, {
  tableNames: tables.names,
  tableArns: tables.arns,
  keyArn: key.arn,
  credentials: settings.credentials,
  canaryApiUrl: settings.canaryApiUrl,
  backfillHours: settings.backfillHours,
  retentionDays: settings.retentionDays,
});

new Schedule(name, {
  functionName: poller.functionName,
  functionArn: poller.functionArn,
  scheduleExpression: settings.pollSchedule,
});

new Alarms(name, { functionName: poller.functionName, alertEmail: settings.alertEmail });

const api = new ReadApi(name, {
  tableNames: tables.names,
  tableArns: tables.arns,
  keyArn: key.arn,
  rateLimit: settings.apiRateLimit,
  burstLimit: settings.apiBurstLimit,
  quotaPerDay: settings.apiQuotaPerDay,
});

/** The stage URL: append `/devices` and send the API key in `x-api-key`. */
export const endpoint = api.endpoint;
/** The API key's value; `pulumi stack output apiKey --show-secrets` reveals it. */
export const apiKey = api.apiKeyValue;
export const readingsTableName = tables.readings.name;
export const metadataTableName = tables.metadata.name;
export const functionName = poller.functionName;
export const logGroupName = poller.logGroup.name;
export const keyId = key.keyId;
export const keyArn = key.arn;
