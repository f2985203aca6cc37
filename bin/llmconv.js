#!/usr/bin/env node
'use strict';
// The `llmconv` command: runs cli/main.ts through tsx's CommonJS hook (no build step).
require('tsx/cjs/api').register();
const argv = process.argv.slice(2);
// `doctor` checks the deployment itself (doctor/), not a producer: cli/ stays an HTTP client.
const run =
  argv[0] === 'doctor'
    ? require('../doctor/doctor-command.ts').doctorCommand(argv.slice(1), { stdout: process.stdout, stderr: process.stderr })
    : require('../cli/main.ts').runCli(argv, { stdout: process.stdout, stderr: process.stderr });

run.then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`llmconv: ${err && err.message}\n`);
    process.exitCode = 1;
  },
);
