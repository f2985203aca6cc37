// Mocha's spec reporter plus the plain closing line CI reads: "N passed, N failed[, N skipped]".
'use strict';
const Mocha = require('mocha');

const LEAK_GRACE_MS = 20_000;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats || this.stats;
      const line = `${s.passes} passed, ${s.failures} failed` + (s.pending ? `, ${s.pending} skipped` : '');
      process.stdout.write(`\n${line}\n`);
      // Mocha runs without --exit so that a leaked handle shows; it must still never hang CI. If
      // the process is still alive this long after the run, name what holds it and exit with the
      // run's result (the timer itself is unref'd: it never keeps a clean process alive).
      setTimeout(() => {
        const held = process._getActiveHandles().map((h) => (h && h.constructor ? h.constructor.name : typeof h));
        const counts = {};
        for (const h of held) counts[h] = (counts[h] || 0) + 1;
        process.stderr.write(
          `\n!! the test process was still alive ${LEAK_GRACE_MS / 1000} s after the run, held by: ${JSON.stringify(counts)}; exiting\n`,
        );
        process.exit(s.failures ? 1 : 0);
      }, LEAK_GRACE_MS).unref();
    });
  }
}

module.exports = SummaryReporter;
