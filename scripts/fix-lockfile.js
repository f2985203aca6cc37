#!/usr/bin/env node
// Re-adds msgpackr-extract's other-platform optional binaries to package-lock.json. The registry
// mirror this project is built against lacks them, so `npm install` drops their entries and
// `npm ci` then rejects the lock as out of sync. Run after any `npm install`:
//   node scripts/fix-lockfile.js
'use strict';
const fs = require('fs');
const path = require('path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const parent = lock.packages['node_modules/msgpackr-extract'];
if (!parent) process.exit(0);
const added = [];
for (const [name, version] of Object.entries(parent.optionalDependencies || {})) {
  const key = `node_modules/${name}`;
  const base = name.split('/')[1];
  const resolved = `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`;
  if (lock.packages[key]) {
    // npm keeps the entry but drops its `resolved` when the mirror lacks the tarball.
    if (!lock.packages[key].resolved) {
      lock.packages[key] = { version: lock.packages[key].version, resolved, ...lock.packages[key] };
      added.push(`${key} (resolved)`);
    }
    continue;
  }
  const plat = name.split('msgpackr-extract-')[1]; // e.g. darwin-arm64
  const [os, cpu] = plat.split('-');
  lock.packages[key] = {
    version,
    resolved,
    cpu: [cpu],
    license: 'MIT',
    optional: true,
    os: [os],
  };
  added.push(key);
}
const sorted = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.join(', ')}` : 'lock already complete');
