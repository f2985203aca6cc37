#!/usr/bin/env node
// Re-adds msgpackr-extract's other-platform optional binaries to package-lock.json. The registry
// mirror this project is built against lacks them, so an `npm install` that resolves the tree
// afresh (no lock, or a dependency bump) can drop their entries, and `npm ci` on another platform
// then rejects the lock as out of sync. Run after such an `npm install`:
//   node scripts/fix-lockfile.js
// It writes the lock exactly as npm does, so a later `npm install` leaves it byte for byte
// unchanged: no `resolved` URLs (the project's .npmrc sets omit-lockfile-registry-resolved), keys
// in npm's order (an English collation, as @npmcli/arborist sorts them, not code-unit order).
'use strict';
const fs = require('fs');
const path = require('path');

const file = path.join(__dirname, '..', 'package-lock.json');
const before = fs.readFileSync(file, 'utf8');
const lock = JSON.parse(before);
const parent = lock.packages['node_modules/msgpackr-extract'];
if (!parent) process.exit(0);
const changed = [];
for (const [name, version] of Object.entries(parent.optionalDependencies || {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) {
    // An older version of this script wrote registry URLs that npm now omits.
    if (lock.packages[key].resolved?.startsWith('https://registry.npmjs.org/')) {
      delete lock.packages[key].resolved;
      changed.push(`${key} (resolved removed)`);
    }
    continue;
  }
  const plat = name.split('msgpackr-extract-')[1]; // e.g. darwin-arm64
  const [os, cpu] = plat.split('-');
  lock.packages[key] = { version, cpu: [cpu], license: 'MIT', optional: true, os: [os] };
  changed.push(key);
}
const collator = new Intl.Collator('en');
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : collator.compare(a, b))),
);
const after = `${JSON.stringify(lock, null, 2)}\n`;
if (after !== before) fs.writeFileSync(file, after);
console.log(changed.length ? `${changed.join(', ')}` : after === before ? 'lock already complete' : 'lock re-sorted');
