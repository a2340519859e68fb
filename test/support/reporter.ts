import * as Mocha from "mocha";

/**
 * Mocha's spec reporter, plus one plain closing line, `N passed, N failed`, that tools
 * which do not know mocha's own summary can read.
 */
class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      const skipped = pending > 0 ? `, ${pending} skipped` : "";
      // After the spec reporter's own summary, which it prints on the same event.
      process.nextTick(() => console.log(`${passes} passed, ${failures} failed${skipped}`));
    });
  }
}

export = SpecWithTotals;
