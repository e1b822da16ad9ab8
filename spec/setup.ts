// Root hooks: the suite fails on any unhandled rejection, wherever it comes from.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);

export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    if (unhandled.length > 0) {
      const reasons = unhandled.splice(0);
      // Mocha's Runnable#error fails the test that just ran (it is missing from @types/mocha).
      const test = this.test as (Mocha.Runnable & { error(error: Error): void }) | undefined;
      test?.error(new Error(`Unhandled rejection during this test: ${reasons.map(String).join('; ')}`));
    }
  },
};
