import * as lib from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import {
  type CaptureHarness,
  SIMULATED_PASSWORD,
  SIMULATED_USERNAME,
  startCaptureHarness,
} from "../support/capture";

const MINUTE = 60_000;

describe("secrets in the poll cycle's logs and errors", () => {
  let harness: CaptureHarness;
  before(async () => {
    harness = await startCaptureHarness();
  });
  after(async () => {
    await harness.close();
  });

  it("never writes a password, token or ciphertext into a log line or an error", async () => {
    const secrets = new Set<string>([SIMULATED_PASSWORD]);
    const remember = async () => {
      const { Items = [] } = await harness.dynamo.doc.send(
        new lib.QueryCommand({
          TableName: harness.dynamo.tables.metadata,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": "auth" },
        }),
      );
      for (const item of Items) {
        for (const sealed of [item.sealed, item.sealedCredentials]) {
          if (typeof sealed !== "string") continue;
          secrets.add(sealed);
          if (item.sk === "token") secrets.add(await harness.box.open("canary-token", sealed));
        }
      }
    };

    // Every path that touches a credential: login, reuse, expiry and re-login, faults,
    // a wrong password and its cool-down, and a supplied token that is refused.
    await harness.run();
    await remember();
    harness.simulator.setFaults({ failureRate: 0.3, kinds: ["5xx", "429", "malformed"] });
    harness.clock.advance(5 * MINUTE);
    await harness.run();
    harness.simulator.clearFaults();
    harness.simulator.expireTokens();
    harness.clock.advance(5 * MINUTE);
    await harness.run();
    await remember();
    const wrong = "a wrong password 'with quotes'";
    secrets.add(wrong);
    harness.simulator.expireTokens();
    await harness.run({ credentials: { username: SIMULATED_USERNAME, password: wrong } });
    await harness.run({ credentials: { username: SIMULATED_USERNAME, password: wrong } });
    await remember();
    const supplied = harness.simulator.issueToken();
    secrets.add(supplied);
    harness.simulator.expireTokens();
    await harness.run({ credentials: { token: supplied } });

    expect(secrets.size).to.be.at.least(6);
    expect(harness.log.lines.length).to.be.greaterThan(10);
    expect(harness.errors.length).to.be.at.least(3);
    for (const line of [...harness.log.lines, ...harness.errors]) {
      for (const secret of secrets) {
        expect(line.includes(secret), `a secret appears in: ${line.slice(0, 120)}`).to.equal(false);
      }
    }
  });
});
