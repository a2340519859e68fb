import { expect } from "chai";
import { ConfigError, readLocalConfig } from "../../runtime/local/config";

const cwd = "/srv/canary";

describe("local mode configuration", () => {
  it("runs the demo with the documented defaults when nothing is set", () => {
    expect(readLocalConfig({}, cwd)).to.deep.equal({
      dataDir: "/srv/canary/.canary-capture",
      pollIntervalSeconds: 300,
      host: "127.0.0.1",
      port: 8787,
      credentials: undefined,
      canaryApiUrl: undefined,
      apiKey: undefined,
      backfillHours: 24,
      retentionDays: 0,
      logLevel: "info",
    });
  });

  it("takes a log level, and a host name or IP address to listen on", () => {
    expect(readLocalConfig({ LOG_LEVEL: "debug" }, cwd).logLevel).to.equal("debug");
    for (const host of ["localhost", "0.0.0.0", "192.168.1.20", "::1", "::", "nas.home.arpa"]) {
      expect(readLocalConfig({ HOST: host }, cwd).host).to.equal(host);
    }
  });

  it("lets CANARY_API_URL name another Canary when an account is set", () => {
    const config = readLocalConfig(
      { CANARY_API_URL: "http://127.0.0.1:9000", CANARY_TOKEN: "abc" },
      cwd,
    );
    expect(config.canaryApiUrl).to.equal("http://127.0.0.1:9000");
  });

  it("takes a username and password, or a token", () => {
    const password = readLocalConfig(
      { CANARY_USERNAME: "me@example.com", CANARY_PASSWORD: " spaces kept " },
      cwd,
    );
    expect(password.credentials).to.deep.equal({
      username: "me@example.com",
      password: " spaces kept ",
    });
    expect(readLocalConfig({ CANARY_TOKEN: "abc" }, cwd).credentials).to.deep.equal({
      token: "abc",
    });
  });

  const refusals: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
    [
      "a token and a password",
      { CANARY_TOKEN: "t", CANARY_USERNAME: "u", CANARY_PASSWORD: "p" },
      /either CANARY_TOKEN or CANARY_PASSWORD/,
    ],
    ["a password without a username", { CANARY_PASSWORD: "p" }, /CANARY_USERNAME is not/],
    ["a username alone", { CANARY_USERNAME: "u" }, /neither CANARY_PASSWORD nor CANARY_TOKEN/],
    [
      "a poll interval below 10 s",
      { POLL_INTERVAL: "5" },
      /POLL_INTERVAL must be a whole number from 10/,
    ],
    ["a poll interval that is not a number", { POLL_INTERVAL: "5m" }, /POLL_INTERVAL .* "5m"/],
    ["a port out of range", { PORT: "70000" }, /PORT must be a whole number from 0 to 65535/],
    [
      "a Canary URL that is not http",
      { CANARY_API_URL: "ftp://x" },
      /CANARY_API_URL must be an https URL/,
    ],
    [
      "plain http to a host other than this machine",
      { CANARY_API_URL: "http://api.canaryis.com" },
      /CANARY_API_URL must be an https URL \(http only for localhost\)/,
    ],
    ["a short API key", { API_KEY: "short" }, /API_KEY must be 20 to 128/],
    [
      "a log level it does not know",
      { LOG_LEVEL: "verbose" },
      /LOG_LEVEL must be one of debug, info, warn, error; it is "verbose"/,
    ],
    ["a log level in capitals", { LOG_LEVEL: "INFO" }, /LOG_LEVEL must be one of/],
    [
      "a host with a space",
      { HOST: "my host" },
      /HOST must be a host name or an IP address.*; it is "my host"/,
    ],
    ["a URL as the host", { HOST: "http://127.0.0.1" }, /HOST must be a host name/],
    ["an IP address out of range", { HOST: "127.0.0.300" }, /HOST must be a host name/],
    ["an IPv6 address in brackets", { HOST: "[::1]" }, /HOST must be .*without brackets/],
    [
      "a Canary URL without an account (the demo would ignore it)",
      { CANARY_API_URL: "https://canary.example.com" },
      /CANARY_API_URL needs CANARY_USERNAME and CANARY_PASSWORD, or CANARY_TOKEN/,
    ],
  ];
  for (const [what, env, message] of refusals) {
    it(`refuses ${what} with an error naming the variable`, () => {
      expect(() => readLocalConfig(env, cwd)).to.throw(ConfigError, message);
    });
  }

  it("never repeats a password or token in its errors", () => {
    const secret = "hunter2-secret-value";
    for (const env of [
      { CANARY_TOKEN: secret, CANARY_USERNAME: "u", CANARY_PASSWORD: secret },
      { CANARY_PASSWORD: secret },
      { API_KEY: "x", CANARY_PASSWORD: secret, CANARY_USERNAME: "u" },
    ]) {
      expect(() => readLocalConfig(env, cwd)).to.throw(ConfigError);
      try {
        readLocalConfig(env, cwd);
      } catch (error) {
        expect((error as Error).message).to.not.include(secret);
      }
    }
  });
});
