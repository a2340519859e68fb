import * as crypto from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** The project name of Pulumi.yaml: config keys and auto-names use it. */
export const PROJECT = "canary-capture";
export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

const ROOT = path.resolve(__dirname, "../..");
const PROGRAM = path.join(ROOT, "index.ts");
const INFRA = `${path.join(ROOT, "infra")}${path.sep}`;

/** One resource the program declared, with the inputs it sent and the state the mock gave. */
export interface RecordedResource {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs with secrets unwrapped to their values. */
  inputs: Record<string, unknown>;
  /** Paths of the inputs that arrived marked secret, e.g. `plaintext` or `environment.variables.X`. */
  secretInputs: string[];
  state: Record<string, unknown>;
}

export interface RecordedCall {
  token: string;
  inputs: Record<string, unknown>;
}

export interface ProgramScenario {
  /** @default "test" */
  stack?: string;
  /** Config values; a key without a namespace belongs to the project. */
  config: Record<string, string>;
  /** Keys of `config` that were set with --secret. */
  secretKeys?: string[];
}

export interface StackOutput {
  value: unknown;
  secret: boolean;
}

export interface ProgramRun {
  resources: RecordedResource[];
  calls: RecordedCall[];
  outputs: Record<string, StackOutput>;
  /** Milliseconds to load the program (declare everything), and then for every resource to register. */
  importMs: number;
  settleMs: number;
  /** Every resource of `type`. */
  ofType(type: string): RecordedResource[];
  /** The one resource of `type` (named `name`, if given); throws unless exactly one matches. */
  one(type: string, name?: string): RecordedResource;
}

/** Resource types whose physical name is the `name` property, auto-named when not set. */
const AUTO_NAMED = new Set([
  "aws:apigateway/apiKey:ApiKey",
  "aws:apigateway/restApi:RestApi",
  "aws:apigateway/usagePlan:UsagePlan",
  "aws:cloudwatch/eventRule:EventRule",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:cloudwatch/metricAlarm:MetricAlarm",
  "aws:dynamodb/table:Table",
  "aws:iam/role:Role",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:lambda/function:Function",
  "aws:sns/topic:Topic",
]);

type StateOf = (physical: string, inputs: Record<string, unknown>) => Record<string, unknown>;

const arn = (service: string, resource: string) =>
  `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;

/** What the provider would compute for each resource type the program may declare. */
const COMPUTED: Record<string, StateOf> = {
  "aws:apigateway/apiKey:ApiKey": (name) => ({
    arn: arn("apigateway", `/apikeys/${name}`),
    value: `generated-api-key-${name}`,
  }),
  "aws:apigateway/deployment:Deployment": () => ({}),
  "aws:apigateway/restApi:RestApi": (name) => ({
    arn: arn("apigateway", `/restapis/${name}`),
    executionArn: arn("execute-api", name),
    rootResourceId: "root",
  }),
  "aws:apigateway/stage:Stage": (_name, inputs) => ({
    invokeUrl: `https://${String(inputs.restApi)}.execute-api.${REGION}.amazonaws.com/${String(inputs.stageName)}`,
  }),
  "aws:apigateway/usagePlan:UsagePlan": () => ({}),
  "aws:apigateway/usagePlanKey:UsagePlanKey": () => ({}),
  "aws:cloudwatch/eventRule:EventRule": (name) => ({ arn: arn("events", `rule/${name}`) }),
  "aws:cloudwatch/eventTarget:EventTarget": () => ({}),
  "aws:cloudwatch/logGroup:LogGroup": (name) => ({ arn: arn("logs", `log-group:${name}`) }),
  "aws:cloudwatch/metricAlarm:MetricAlarm": (name) => ({ arn: arn("cloudwatch", `alarm:${name}`) }),
  "aws:dynamodb/table:Table": (name) => ({ arn: arn("dynamodb", `table/${name}`) }),
  "aws:iam/role:Role": (name) => ({ arn: `arn:aws:iam::${ACCOUNT}:role/${name}` }),
  "aws:iam/rolePolicy:RolePolicy": () => ({}),
  "aws:kms/ciphertext:Ciphertext": (name) => ({
    // Stands for KMS output: never derived from the plaintext, so it cannot leak it.
    ciphertextBlob: Buffer.from(`mock-ciphertext-of-${name}`).toString("base64"),
  }),
  "aws:kms/key:Key": (name) => {
    const id = crypto.createHash("sha1").update(name).digest("hex").slice(0, 32);
    return { arn: arn("kms", `key/${id}`), keyId: id };
  },
  "aws:lambda/function:Function": (name) => ({
    arn: arn("lambda", `function:${name}`),
    invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/functions/${name}/invocations`,
  }),
  "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": () => ({}),
  "aws:lambda/permission:Permission": () => ({}),
  "aws:sns/topic:Topic": (name) => ({ arn: arn("sns", name) }),
  "aws:sns/topicSubscription:TopicSubscription": (name) => ({ arn: arn("sns", `sub:${name}`) }),
};

/** Data sources the program may call. */
const CALLS: Record<string, () => Record<string, unknown>> = {
  "aws:index/getCallerIdentity:getCallerIdentity": () => ({
    id: ACCOUNT,
    accountId: ACCOUNT,
    arn: `arn:aws:iam::${ACCOUNT}:user/deployer`,
    userId: "AIDAEXAMPLE",
  }),
  "aws:index/getRegion:getRegion": () => ({
    id: REGION,
    name: REGION,
    region: REGION,
    endpoint: `ec2.${REGION}.amazonaws.com`,
    description: "US East (N. Virginia)",
  }),
};

/**
 * Records every resource and call the program makes. Like the engine, it auto-names
 * resources whose name was not set, with a suffix that depends on the stack. A resource
 * type or call it does not know throws, so nothing the program declares goes unexamined.
 */
function recordingMocks(stack: string, resources: RecordedResource[], calls: RecordedCall[]) {
  const errors: Error[] = [];
  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      const secretInputs: string[] = [];
      const inputs = unwrapSecrets(args.inputs, "", secretInputs) as Record<string, unknown>;
      if (!args.custom || args.type.startsWith("pulumi:providers:")) {
        resources.push({
          type: args.type,
          name: args.name,
          custom: false,
          inputs,
          secretInputs,
          state: {},
        });
        return { id: undefined, state: {} };
      }
      const computed = COMPUTED[args.type];
      if (!computed) {
        const error = new Error(
          `unmocked resource type ${args.type} (${args.name}); add it to test/support/pulumi.ts`,
        );
        errors.push(error);
        throw error;
      }
      const suffix = crypto.createHash("sha1").update(`${stack}/${args.name}`).digest("hex");
      const physical =
        typeof inputs.name === "string"
          ? inputs.name
          : AUTO_NAMED.has(args.type)
            ? `${args.name}-${suffix.slice(0, 7)}`
            : `${args.name}-id`;
      const state = { ...inputs, ...(AUTO_NAMED.has(args.type) ? { name: physical } : {}) };
      Object.assign(state, computed(physical, state));
      resources.push({
        type: args.type,
        name: args.name,
        custom: true,
        inputs,
        secretInputs,
        state,
      });
      return { id: physical, state };
    },
    call(args) {
      const result = CALLS[args.token];
      if (!result) {
        const error = new Error(`unmocked call ${args.token}; add it to test/support/pulumi.ts`);
        errors.push(error);
        throw error;
      }
      calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
      return result();
    },
  };
  return { mocks, errors };
}

/** Replaces the SDK's secret wrappers with their values, noting where they were. */
function unwrapSecrets(value: unknown, at: string, secrets: string[]): unknown {
  if (Array.isArray(value))
    return value.map((item, i) => unwrapSecrets(item, `${at}[${i}]`, secrets));
  if (!value || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) {
    return value;
  }
  const record = value as Record<string, unknown>;
  if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) {
    secrets.push(at);
    return unwrapSecrets(record.value, at, secrets);
  }
  return Object.fromEntries(
    Object.entries(record).map(([key, item]) => [
      key,
      unwrapSecrets(item, at ? `${at}.${key}` : key, secrets),
    ]),
  );
}

/** Forgets the program and infra modules, so the next require runs them afresh. */
function forgetProgram(): void {
  for (const file of Object.keys(require.cache)) {
    if (file === PROGRAM || file.startsWith(INFRA)) delete require.cache[file];
  }
}

function configure(scenario: ProgramScenario): void {
  const qualify = (key: string) => (key.includes(":") ? key : `${PROJECT}:${key}`);
  const config = Object.fromEntries(
    Object.entries(scenario.config).map(([key, value]) => [qualify(key), value]),
  );
  pulumi.runtime.setAllConfig(config, (scenario.secretKeys ?? []).map(qualify));
}

// Internal to the SDK but exported: resolves once every outstanding RPC has finished.
const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs;

/**
 * Runs index.ts under recording mocks with `scenario`'s config, in a fresh module cache,
 * and waits until every resource has been registered and every stack output resolved.
 */
export async function runProgram(scenario: ProgramScenario): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  const calls: RecordedCall[] = [];
  const { mocks, errors } = recordingMocks(scenario.stack ?? "test", resources, calls);
  await pulumi.runtime.setMocks(mocks, PROJECT, scenario.stack ?? "test", false);
  configure(scenario);
  forgetProgram();

  const started = Date.now();
  const program: Record<string, unknown> = require(PROGRAM);
  const importMs = Date.now() - started;

  const outputs: Record<string, StackOutput> = {};
  for (const [key, value] of Object.entries(program)) {
    if (!pulumi.Output.isInstance(value)) continue;
    outputs[key] = { value: await resolved(value), secret: await pulumi.isSecret(value) };
  }
  await waitForRPCs();
  const settleMs = Date.now() - started - importMs;
  if (errors.length > 0) throw errors[0];

  return {
    resources,
    calls,
    outputs,
    importMs,
    settleMs,
    ofType: (type) => resources.filter((resource) => resource.type === type),
    one(type, name) {
      const found = resources.filter(
        (resource) => resource.type === type && (name === undefined || resource.name === name),
      );
      if (found.length !== 1) {
        throw new Error(
          `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`,
        );
      }
      return found[0] as RecordedResource;
    },
  };
}

/** The error loading the program throws with `scenario`'s config; fails if it loads. */
export async function programError(scenario: ProgramScenario): Promise<Error> {
  await pulumi.runtime.setMocks(recordingMocks("test", [], []).mocks, PROJECT, "test", false);
  configure(scenario);
  forgetProgram();
  try {
    require(PROGRAM);
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the program to refuse this configuration, but it loaded");
}

function resolved<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => {
    output.apply((value) => {
      resolve(value);
      return value;
    });
  });
}
