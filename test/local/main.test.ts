import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { CanarySimulator } from "../../runtime/canary/simulator";
import { systemClock } from "../../runtime/clock";
import { ConfigError } from "../../runtime/local/config";
import { startLocal } from "../../runtime/local/main";

describe("local mode in process", function () {
  // dynalite and the gateway start for real; no poll here runs to its end.
  this.timeout(10_000);

  let dataDir: string;
  const said: string[] = [];
  const logged: string[] = [];
  const quiet = {
    say: (line: string) => said.push(line),
    writeLog: (line: string) => logged.push(line),
  };
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-capture-main-"));
    said.length = 0;
    logged.length = 0;
  });
  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("stops waiting for a stuck poll after waitMs and still closes the API", async () => {
    const canary = new CanarySimulator({ clock: systemClock });
    const canaryUrl = await canary.start();
    canary.setFaults({ latencyMs: 10 * 60_000 });
    try {
      const instance = await startLocal({
        env: {
          DATA_DIR: dataDir,
          PORT: "0",
          CANARY_API_URL: canaryUrl,
          CANARY_USERNAME: "owner@example.com",
          CANARY_PASSWORD: "correct horse battery staple",
        },
        cwd: dataDir,
        ...quiet,
      });
      await until(() => canary.requestLog.length > 0, 5_000);

      const begun = Date.now();
      const result = await instance.stop({ waitMs: 200 });

      expect(result).to.deep.equal({ pollFinished: false });
      expect(Date.now() - begun).to.be.below(3_000);
      const refused = await fetch(`${instance.url}/devices`).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(refused, "the API still answers after stop").to.be.instanceOf(Error);
    } finally {
      await canary.close();
    }
  });

  it("names HOST and PORT in one line when the port is already in use", async () => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const failure = await startLocal({
        env: { DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: String(port) },
        cwd: dataDir,
        ...quiet,
      }).then(
        async (instance) => {
          await instance.stop();
          return undefined;
        },
        (error: Error) => error,
      );

      expect(failure).to.be.instanceOf(ConfigError);
      expect(failure?.message).to.equal(
        `PORT ${port} is already in use on HOST 127.0.0.1; stop what uses it, or set PORT to another port (0 picks a free one)`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

async function until(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not so within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
