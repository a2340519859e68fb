import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { programError } from "../support/pulumi";

const ROOT = path.resolve(__dirname, "../..");

/** The keys index.ts reads, each of which Pulumi.yaml must declare. */
const KEYS = [
  "canaryUsername",
  "canaryPassword",
  "canaryToken",
  "kmsKeyArn",
  "pollSchedule",
  "backfillHours",
  "retentionDays",
  "apiRateLimit",
  "apiBurstLimit",
  "apiQuotaPerDay",
  "alertEmail",
  "canaryApiUrl",
  "deletionProtection",
];

/** The `config:` block of Pulumi.yaml as key → its indented declaration lines. */
function declarations(): Map<string, string> {
  const text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
  const block = text.slice(text.indexOf("\nconfig:\n") + "\nconfig:\n".length);
  const found = new Map<string, string>();
  for (const match of block.matchAll(/^ {2}(\w+):\n((?: {4}.*\n?)*)/gm)) {
    found.set(match[1] as string, match[2] as string);
  }
  return found;
}

describe("the Pulumi program's configuration", () => {
  it("refuses a stack with neither canaryPassword nor canaryToken, naming both keys", async () => {
    const error = await programError({ config: { canaryUsername: "owner@example.com" } });
    expect(error.message).to.include("canary-capture:canaryPassword");
    expect(error.message).to.include("canary-capture:canaryToken");
    expect(error.message).to.include("pulumi config set --secret canaryPassword");
  });

  it("refuses a stack with both canaryPassword and canaryToken, naming both keys", async () => {
    const error = await programError({
      config: { canaryUsername: "owner@example.com", canaryPassword: "pw-1", canaryToken: "tok-1" },
      secretKeys: ["canaryPassword", "canaryToken"],
    });
    expect(error.message).to.include("canary-capture:canaryPassword");
    expect(error.message).to.include("canary-capture:canaryToken");
    expect(error.message).to.include("both set");
    expect(error.message).not.to.include("pw-1");
    expect(error.message).not.to.include("tok-1");
  });

  it("treats the empty defaults of Pulumi.yaml as unset", async () => {
    const error = await programError({
      config: { canaryUsername: "owner@example.com", canaryPassword: "", canaryToken: "" },
    });
    expect(error.message).to.include("both unset");
  });

  it("refuses a password without canaryUsername", async () => {
    const error = await programError({
      config: { canaryPassword: "pw-2" },
      secretKeys: ["canaryPassword"],
    });
    expect(error.message).to.include("canary-capture:canaryUsername");
    expect(error.message).not.to.include("pw-2");
  });

  it("refuses a password that was not set with --secret", async () => {
    const error = await programError({
      config: { canaryUsername: "owner@example.com", canaryPassword: "pw-3" },
    });
    expect(error.message).to.include("canary-capture:canaryPassword is stored in plain text");
    expect(error.message).not.to.include("pw-3");
  });

  it("refuses a malformed schedule, key ARN, number or e-mail address, naming the key", async () => {
    const valid = { canaryUsername: "owner@example.com", canaryPassword: "pw-4" };
    const cases: Array<[Record<string, string>, string]> = [
      [{ pollSchedule: "every 5 minutes" }, "canary-capture:pollSchedule"],
      [{ kmsKeyArn: "alias/mine" }, "canary-capture:kmsKeyArn"],
      [{ backfillHours: "0" }, "canary-capture:backfillHours"],
      [{ retentionDays: "-1" }, "canary-capture:retentionDays"],
      [{ apiRateLimit: "2.5" }, "canary-capture:apiRateLimit"],
      [{ alertEmail: "nobody" }, "canary-capture:alertEmail"],
      [{ canaryApiUrl: "api.canaryis.com" }, "canary-capture:canaryApiUrl"],
      // The password would travel in the clear.
      [{ canaryApiUrl: "http://api.canaryis.com" }, "https URL (http only for localhost)"],
      // DynamoDB and Lambda refuse a key of another region; say so before AWS does.
      [
        {
          kmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          "aws:region": "us-east-1",
        },
        "is a key in eu-west-1, but the stack deploys to us-east-1",
      ],
    ];
    for (const [config, key] of cases) {
      const error = await programError({
        config: { ...valid, ...config },
        secretKeys: ["canaryPassword"],
      });
      expect(error.message, JSON.stringify(config)).to.include(key);
    }
  });

  it("declares every key in Pulumi.yaml with a type, a description and a default", () => {
    const declared = declarations();
    expect([...declared.keys()].sort()).to.deep.equal([...KEYS].sort());
    for (const [key, lines] of declared) {
      expect(lines, key).to.match(/^ {4}type: (string|integer|boolean)$/m);
      expect(lines, key).to.match(/^ {4}description: \S/m);
      expect(lines, key).to.match(/^ {4}default: /m);
    }
    expect(declared.get("pollSchedule")).to.match(/default: rate\(5 minutes\)$/m);
    expect(declared.get("backfillHours")).to.match(/default: 24$/m);
    expect(declared.get("retentionDays")).to.match(/default: 0$/m);
    expect(declared.get("deletionProtection")).to.match(/default: true$/m);
  });

  it("keeps the production stack file free of plaintext secrets", () => {
    const text = fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8");
    const settings = text.split("\n").filter((line) => line.trim() && !line.trim().startsWith("#"));
    // An owner's `pulumi config set --secret` adds encrypted values; a plain one never.
    settings.forEach((line, index) => {
      const secret = line.match(/canary-capture:canary(?:Password|Token):(.*)$/);
      if (!secret) return;
      // Pulumi writes `key:` then `secure: v1:...` on the next line, or both on one.
      const value = secret[1]?.trim() ? secret[1] : settings[index + 1];
      expect(value, line).to.match(/^\s*\{?\s*secure:\s*\S+/);
    });
    expect(settings.join("\n")).to.match(/aws:region: \S+/);
    expect(settings.join("\n")).to.match(/canary-capture:pollSchedule: \S+/);
  });
});
