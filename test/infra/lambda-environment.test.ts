import { expect } from "chai";
import { POLLER_ENV, readPollerEnvironment } from "../../runtime/lambda/environment";

const BASE = {
  [POLLER_ENV.readingsTable]: "readings-1",
  [POLLER_ENV.metadataTable]: "metadata-1",
  [POLLER_ENV.keyId]: "arn:aws:kms:us-east-1:111122223333:key/k",
  [POLLER_ENV.stack]: "production",
};

describe("the poller's environment", () => {
  it("reads a password deployment into tables, key, username and password ciphertext", () => {
    const environment = readPollerEnvironment({
      ...BASE,
      [POLLER_ENV.username]: "owner@example.com",
      [POLLER_ENV.passwordCiphertext]: "c2VhbGVk",
      [POLLER_ENV.backfillHours]: "12",
      [POLLER_ENV.retentionDays]: "0",
    });
    expect(environment).to.deep.equal({
      tables: { readings: "readings-1", metadata: "metadata-1" },
      keyId: BASE[POLLER_ENV.keyId],
      stack: "production",
      credentials: { username: "owner@example.com", passwordCiphertext: "c2VhbGVk" },
      canaryApiUrl: undefined,
      backfillHours: 12,
      retentionDays: 0,
      logLevel: "info",
    });
  });

  it("reads a token deployment without a username", () => {
    const environment = readPollerEnvironment({
      ...BASE,
      [POLLER_ENV.tokenCiphertext]: "dG9rZW4=",
      [POLLER_ENV.canaryApiUrl]: "http://127.0.0.1:1",
    });
    expect(environment.credentials).to.deep.equal({ tokenCiphertext: "dG9rZW4=" });
    expect(environment.canaryApiUrl).to.equal("http://127.0.0.1:1");
    expect(environment.backfillHours).to.equal(undefined);
  });

  it("refuses neither or both ciphertexts, naming both variables and no value", () => {
    for (const extra of [
      {},
      { [POLLER_ENV.passwordCiphertext]: "c2VhbGVk", [POLLER_ENV.tokenCiphertext]: "dG9rZW4=" },
    ]) {
      expect(() => readPollerEnvironment({ ...BASE, [POLLER_ENV.username]: "u", ...extra }))
        .to.throw(POLLER_ENV.passwordCiphertext)
        .with.property("message")
        .that.includes(POLLER_ENV.tokenCiphertext)
        .and.not.includes("c2VhbGVk");
    }
  });

  it("names a missing table, key or username variable", () => {
    const sealed = { [POLLER_ENV.passwordCiphertext]: "c2VhbGVk", [POLLER_ENV.username]: "u" };
    for (const missing of [POLLER_ENV.readingsTable, POLLER_ENV.metadataTable, POLLER_ENV.keyId]) {
      const env: Record<string, string | undefined> = { ...BASE, ...sealed, [missing]: undefined };
      expect(() => readPollerEnvironment(env)).to.throw(missing);
    }
    expect(() =>
      readPollerEnvironment({ ...BASE, [POLLER_ENV.passwordCiphertext]: "c2VhbGVk" }),
    ).to.throw(POLLER_ENV.username);
  });

  it("refuses a number that is not whole and a log level it does not know", () => {
    const sealed = { [POLLER_ENV.tokenCiphertext]: "dG9rZW4=" };
    expect(() =>
      readPollerEnvironment({ ...BASE, ...sealed, [POLLER_ENV.backfillHours]: "1.5" }),
    ).to.throw(POLLER_ENV.backfillHours);
    expect(() =>
      readPollerEnvironment({ ...BASE, ...sealed, [POLLER_ENV.logLevel]: "verbose" }),
    ).to.throw(POLLER_ENV.logLevel);
  });
});
