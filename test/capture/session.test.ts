import * as lib from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { createCanaryClient } from "../../runtime/canary/client";
import { createKmsBox } from "../../runtime/secrets/kms";
import { type CanaryProxy, startCanaryProxy } from "../support/canary-proxy";
import {
  type CaptureHarness,
  SIMULATED_PASSWORD,
  SIMULATED_USERNAME,
  startCaptureHarness,
} from "../support/capture";
import { KMS_CREDENTIALS, startKmsStandIn } from "../support/kms";

const MINUTE = 60_000;

describe("Canary token lifecycle in the poll cycle", () => {
  let harness: CaptureHarness;
  afterEach(async () => {
    await harness.close();
  });

  it("logs in once over ten runs, across a restart with the same data directory", async () => {
    harness = await startCaptureHarness();

    for (let run = 0; run < 10; run++) {
      if (run === 5) await harness.restart();
      const summary = await harness.run();
      expect(summary.ok, `run ${run}`).to.equal(true);
      harness.clock.advance(5 * MINUTE);
    }

    expect(harness.simulator.logins).to.equal(1);
    const stored = await harness.dynamo.doc.send(
      new lib.GetCommand({
        TableName: harness.dynamo.tables.metadata,
        Key: { pk: "auth", sk: "token" },
      }),
    );
    // The token is kept sealed: its stored form is the secret box's, never the token itself.
    const token = await harness.box.open("canary-token", stored.Item?.sealed as string);
    expect(stored.Item?.sealed).to.match(/^v1:/);
    expect(JSON.stringify(stored.Item)).to.not.include(token);
  });

  it("logs in exactly once more when the token expires", async () => {
    harness = await startCaptureHarness();
    expect((await harness.run()).logins).to.equal(1);

    harness.simulator.expireTokens();
    harness.clock.advance(5 * MINUTE);
    const afterExpiry = await harness.run();
    harness.clock.advance(5 * MINUTE);
    const next = await harness.run();

    expect(afterExpiry).to.include({ ok: true, logins: 1 });
    expect(next).to.include({ ok: true, logins: 0 });
    expect(harness.simulator.logins).to.equal(2);
  });

  it("tries a wrong password once per cool-down and says clearly what is wrong", async () => {
    harness = await startCaptureHarness();
    const wrong = { username: SIMULATED_USERNAME, password: "not the password" };

    const first = await harness.run({ credentials: wrong });
    const soon = [];
    for (let run = 0; run < 5; run++) {
      harness.clock.advance(5 * MINUTE);
      soon.push(await harness.run({ credentials: wrong }));
    }

    expect(first.ok).to.equal(false);
    expect(first.error).to.match(/rejected the username or password/);
    expect(harness.simulator.logins).to.equal(1);
    for (const summary of soon) {
      expect(summary.ok).to.equal(false);
      expect(summary.error).to.match(/no new login is attempted before 2026-11-20T13:00:00Z/);
    }

    harness.clock.advance(40 * MINUTE);
    const afterCooldown = await harness.run({ credentials: wrong });
    expect(afterCooldown.error).to.match(/rejected the username or password/);
    expect(harness.simulator.logins).to.equal(2);
  });

  it("tries a corrected password at once, without waiting out the cool-down", async () => {
    harness = await startCaptureHarness();
    await harness.run({ credentials: { username: SIMULATED_USERNAME, password: "typo" } });

    harness.clock.advance(MINUTE);
    const fixed = await harness.run({
      credentials: { username: SIMULATED_USERNAME, password: SIMULATED_PASSWORD },
    });

    expect(fixed).to.include({ ok: true, logins: 1 });
    expect(harness.simulator.logins).to.equal(2);
  });

  it("tells the owner of a two-factor account to supply a token, and does not retry", async () => {
    harness = await startCaptureHarness({ mfaRequired: true });

    const first = await harness.run();
    harness.clock.advance(5 * MINUTE);
    await harness.run();

    expect(first.ok).to.equal(false);
    expect(first.error).to.match(/two-factor authentication; supply a token/);
    expect(harness.simulator.logins).to.equal(1);
  });

  it("uses a token the owner supplied without ever logging in", async () => {
    harness = await startCaptureHarness({ mfaRequired: true });
    const token = harness.simulator.issueToken();

    const summary = await harness.run({ credentials: { token } });

    expect(summary).to.include({ ok: true, logins: 0 });
    expect(harness.simulator.logins).to.equal(0);
    expect((await harness.storedMinutes(harness.sensorDevices[0] as string)).size).to.be.above(
      1000,
    );
  });

  it("says the supplied token was refused when it expires, instead of trying to log in", async () => {
    harness = await startCaptureHarness();
    const token = harness.simulator.issueToken();
    harness.simulator.expireTokens();

    const summary = await harness.run({ credentials: { token } });

    expect(summary.ok).to.equal(false);
    expect(summary.error).to.match(/refused the configured token/);
    expect(harness.simulator.logins).to.equal(0);
  });

  describe("behind a proxy that answers 401 in Canary's place", () => {
    let proxy: CanaryProxy;
    afterEach(async () => {
      await proxy.close();
    });
    const through = (url: string) =>
      createCanaryClient({ baseUrl: url, clock: harness.clock, timeoutMs: 300 });

    it("shares one new login between devices refused at the same moment", async () => {
      harness = await startCaptureHarness();
      proxy = await startCanaryProxy(harness.simulator.url);
      const canary = through(proxy.url);
      await harness.run({ canary });
      const stored = await harness.dynamo.doc.send(
        new lib.GetCommand({
          TableName: harness.dynamo.tables.metadata,
          Key: { pk: "auth", sk: "token" },
        }),
      );
      proxy.refusedOnReadings.add(await harness.box.open("canary-token", stored.Item?.sealed));

      harness.clock.advance(5 * MINUTE);
      const refused = await harness.run({ canary, settings: { concurrency: 2 } });

      expect(proxy.refusals).to.equal(2);
      expect(refused).to.include({ ok: true, logins: 1, polled: 2 });
      expect(harness.simulator.logins).to.equal(2);
    });

    it("logs in once, not once a run, while every token is refused", async () => {
      harness = await startCaptureHarness();
      proxy = await startCanaryProxy(harness.simulator.url);
      const canary = through(proxy.url);
      await harness.run({ canary });
      proxy.refuseAllTokens = true;

      const runs = [];
      for (let run = 0; run < 6; run++) {
        harness.clock.advance(5 * MINUTE);
        runs.push(await harness.run({ canary }));
      }

      // One login replaced the refused token; when that one was refused too, no more.
      expect(harness.simulator.logins).to.equal(2);
      expect(runs.every((summary) => !summary.ok)).to.equal(true);
      expect(runs[1]?.error).to.match(/401 to a token obtained at .*no new login/);

      // After the cool-down one more login is allowed.
      harness.clock.advance(60 * MINUTE);
      await harness.run({ canary });
      expect(harness.simulator.logins).to.equal(3);
    });

    it("does not log in twice in one run when a fresh token is refused", async () => {
      harness = await startCaptureHarness();
      proxy = await startCanaryProxy(harness.simulator.url);
      proxy.refuseAllTokens = true;

      const summary = await harness.run({ canary: through(proxy.url) });

      expect(summary).to.include({ ok: false, logins: 1 });
      expect(summary.error).to.match(/401 to a token obtained in this run/);
      expect(harness.simulator.logins).to.equal(1);
    });
  });

  it("does not log in when the key service is down, since the stored token is still good", async () => {
    harness = await startCaptureHarness();
    const kms = await startKmsStandIn();
    const box = createKmsBox({
      keyId: kms.keyId,
      endpoint: kms.endpoint,
      region: "us-east-1",
      credentials: KMS_CREDENTIALS,
    });
    expect((await harness.run({ box })).logins).to.equal(1);
    await kms.close();

    harness.clock.advance(5 * MINUTE);
    const outage = await harness.run({ box });

    expect(outage).to.include({ ok: false, logins: 0 });
    expect(harness.simulator.logins).to.equal(1);
  });
});
