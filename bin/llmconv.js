#!/usr/bin/env node
'use strict';
// The `llmconv` command: runs cli/main.ts through tsx's CommonJS hook (no build step).
require('tsx/cjs/api').register();
const { runCli } = require('../cli/main.ts');

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`llmconv: ${err && err.message}\n`);
    process.exitCode = 1;
  },
);
