#!/usr/bin/env node
// Entry point of `npx ai-visibility`: the compiled command line (dist/cli/cli.js, built by
// `npm run build:cli`, `npm start` and `npm pack`) in this process; without it, the TypeScript
// through tsx.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const compiled = join(__dirname, '..', 'dist', 'cli', 'cli.js');
if (existsSync(compiled)) {
  require(compiled).runCli(process.argv.slice(2));
} else {
  const { spawnSync } = require('node:child_process');
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
