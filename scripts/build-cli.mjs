#!/usr/bin/env node
/**
 * Compile the command line (bin/cli.ts and everything it imports from the repository) into one
 * JavaScript file, dist/cli/cli.js, with esbuild (already the functions' bundler), and the
 * replay's reading thread (local/replay/read-worker.ts) next to it, dist/cli/read-worker.js. Packages stay
 * in node_modules (they are loaded, not compiled); commands load what they need on first use, so
 * a command that needs no AWS SDK or embedded DynamoDB never loads them. `npm start` runs this
 * first; bin/ai-visibility.cjs runs the result (or, without it, the TypeScript through tsx).
 * Skipped when the output is newer than every source file.
 */
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
const outputs = ['cli.js', 'read-worker.js'].map((name) => join(outdir, name));

/** The newest modification time under the directories the CLI is built from. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of ['bin', 'lambdas', 'lib', 'local']) walk(join(root, dir));
  return Math.max(newest, statSync(join(root, 'package-lock.json')).mtimeMs);
}

let built = 0;
try {
  built = Math.min(...outputs.map((output) => statSync(output).mtimeMs));
} catch {
  // not built yet
}
if (process.argv.includes('--force') || built <= newestSource()) {
  await build({
    entryPoints: { cli: join(root, 'bin', 'cli.ts'), 'read-worker': join(root, 'local', 'replay', 'read-worker.ts') },
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
    // The CLI finds its bundled samples and the store relative to the package root, not to this file.
    define: { 'process.env.AI_VISIBILITY_COMPILED_CLI': '"true"' },
  });
}
