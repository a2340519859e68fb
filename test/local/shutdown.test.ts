import { expect } from "chai";
import {
  createStopOnSignal,
  SAME_SIGNAL_WITHIN_MS,
  type StopOnSignalOptions,
} from "../../runtime/local/shutdown";

/** A stop handler whose instance is driven by hand, with a clock that moves when told. */
function harness(overrides: Partial<StopOnSignalOptions> = {}) {
  const said: string[] = [];
  const exits: number[] = [];
  const waits: number[] = [];
  let time = 1_000_000;
  let finishStop: (result: { pollFinished: boolean }) => void = () => undefined;
  let failStop: (error: Error) => void = () => undefined;
  const handle = createStopOnSignal({
    stop: ({ waitMs }) => {
      waits.push(waitMs);
      return new Promise((resolve, reject) => {
        finishStop = resolve;
        failStop = reject;
      });
    },
    say: (line) => said.push(line),
    exit: (code) => exits.push(code),
    now: () => time,
    ...overrides,
  });
  return {
    handle,
    said,
    exits,
    waits,
    advance: (ms: number) => {
      time += ms;
    },
    finishStop: async (result: { pollFinished: boolean }) => {
      finishStop(result);
      await new Promise((resolve) => setImmediate(resolve));
    },
    failStop: async (error: Error) => {
      failStop(error);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe("Ctrl-C and SIGTERM in local mode", () => {
  it("waits up to 10 s for the poll in progress, then says it stopped and exits 0", async () => {
    const run = harness();

    run.handle("SIGINT");
    expect(run.waits).to.deep.equal([10_000]);
    expect(run.said).to.deep.equal([
      "canary-capture: stopping; a poll in progress gets up to 10 s to finish (Ctrl-C again stops at once)",
    ]);
    expect(run.exits).to.deep.equal([]);

    await run.finishStop({ pollFinished: true });
    expect(run.said.at(-1)).to.equal("canary-capture: stopped");
    expect(run.exits).to.deep.equal([0]);
  });

  it("says so and exits 130 when the poll did not finish in time", async () => {
    const run = harness({ graceMs: 3_000 });

    run.handle("SIGINT");
    await run.finishStop({ pollFinished: false });

    expect(run.waits).to.deep.equal([3_000]);
    expect(run.said.at(-1)).to.equal(
      "canary-capture: stopped without the poll in progress, which did not finish within 3 s; the next start resumes from the stored cursors",
    );
    expect(run.exits).to.deep.equal([130]);
  });

  it("exits at once with 130 on a second Ctrl-C, without waiting for the first", () => {
    const run = harness();

    run.handle("SIGINT");
    run.advance(2_000);
    run.handle("SIGINT");

    expect(run.said.at(-1)).to.equal(
      "canary-capture: stopped at once without waiting for the poll in progress; the next start resumes from the stored cursors",
    );
    expect(run.exits).to.deep.equal([130]);
  });

  it("exits with 143 on a second SIGTERM", () => {
    const run = harness();

    run.handle("SIGTERM");
    run.advance(2_000);
    run.handle("SIGTERM");

    expect(run.exits).to.deep.equal([143]);
  });

  it("takes a signal right after the first as the same Ctrl-C, forwarded by npm", async () => {
    const run = harness();

    run.handle("SIGINT");
    run.advance(SAME_SIGNAL_WITHIN_MS - 1);
    run.handle("SIGINT");

    expect(run.exits).to.deep.equal([]);
    expect(run.said).to.have.length(1);
    await run.finishStop({ pollFinished: true });
    expect(run.exits).to.deep.equal([0]);
  });

  it("says nothing more once it is exiting", async () => {
    const run = harness();

    run.handle("SIGINT");
    await run.finishStop({ pollFinished: true });
    run.advance(2_000);
    run.handle("SIGINT");

    expect(run.said.at(-1)).to.equal("canary-capture: stopped");
    expect(run.exits).to.deep.equal([0]);
  });

  it("exits 1 and says why when stopping fails", async () => {
    const run = harness();

    run.handle("SIGTERM");
    await run.failStop(new Error("dynalite did not close"));

    expect(run.said.at(-1)).to.equal("canary-capture: stopping failed: dynalite did not close");
    expect(run.exits).to.deep.equal([1]);
  });
});
