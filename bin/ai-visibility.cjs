#!/usr/bin/env node
// Entry point of `npx ai-visibility`: runs the TypeScript CLI through tsx.
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const result = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
