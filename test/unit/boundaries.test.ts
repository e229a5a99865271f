/**
 * Import boundaries, as a test. Data flows one way and so do imports:
 * - the domain core (lambdas/core) imports nothing of ours outside itself, and no package at all;
 * - shared code (lambdas/shared) imports only the core and itself;
 * - a Lambda (lambdas/<name>) imports the core, shared code and its own files, never another
 *   Lambda, and no CDK;
 * - the CDK app (lib) imports itself and, of the functions, only what configures them: the core,
 *   the environment contracts (lambdas/<name>/environment.ts, lambdas/shared/environment.ts)
 *   and the table schema; never the local runtime;
 * - the local runtime (local) and the entry points (bin) may import anything but bin.
 * Every import of every source file is read (static imports, `import()`, `require()`), and the
 * test fails naming each violation. A second test feeds the checker a tree that breaks each rule.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['lambdas', 'lib', 'local', 'bin'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

/** The import specifiers of a source text. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) out.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  return out;
}

type Layer = { kind: 'core' | 'shared' | 'lib' | 'local' | 'bin' | 'test' | 'other' } | { kind: 'lambda'; name: string };

function layerOf(path: string): Layer {
  const [top, second] = path.split('/');
  if (top === 'lambdas') {
    if (second === 'core') return { kind: 'core' };
    if (second === 'shared') return { kind: 'shared' };
    return { kind: 'lambda', name: second };
  }
  if (top === 'lib' || top === 'local' || top === 'bin' || top === 'test') return { kind: top };
  return { kind: 'other' };
}

/** What configures a function: the core, the environment contracts and the table schema. */
const CONFIGURES_FUNCTIONS = (target: string) =>
  target.startsWith('lambdas/core/') || /^lambdas\/[^/]+\/environment$/.test(target) || target === 'lambdas/shared/table-schema';

/**
 * Every violation in a tree of sources (repository-relative path without `.ts` -> its import
 * specifiers). Relative specifiers are resolved against the importing file.
 */
export function violations(tree: ReadonlyMap<string, readonly string[]>): string[] {
  const problems: string[] = [];
  for (const [file, specifiers] of tree) {
    const from = layerOf(file);
    for (const spec of specifiers) {
      const relativeImport = spec.startsWith('.');
      const target = relativeImport ? normalize(join(dirname(file), spec)).replace(/\\/g, '/').replace(/\.ts$/, '').replace(/\/index$/, '') : undefined;
      const to = target ? layerOf(target) : undefined;
      const say = (why: string) => problems.push(`${file} imports ${spec}: ${why}`);
      switch (from.kind) {
        case 'core':
          if (!relativeImport && !spec.startsWith('node:')) say('the domain core imports no package');
          else if (to && to.kind !== 'core') say('the domain core imports nothing of ours outside it');
          break;
        case 'shared':
          if (to && to.kind !== 'core' && to.kind !== 'shared') say('shared code imports only the core');
          break;
        case 'lambda':
          if (!relativeImport && (spec === 'aws-cdk-lib' || spec.startsWith('aws-cdk-lib/') || spec === 'constructs')) say('a Lambda bundles no CDK');
          if (to && to.kind === 'lambda' && to.name !== from.name) say('a Lambda never imports another Lambda');
          else if (to && to.kind !== 'lambda' && to.kind !== 'core' && to.kind !== 'shared') say('a Lambda imports only the core, shared code and its own files');
          break;
        case 'lib':
          if (to && (to.kind === 'local' || to.kind === 'bin' || to.kind === 'test')) say('the CDK app does not depend on the local runtime');
          else if (target && (to?.kind === 'shared' || to?.kind === 'lambda') && !CONFIGURES_FUNCTIONS(target)) say('the CDK app imports only what configures functions');
          break;
        case 'local':
          if (to && (to.kind === 'bin' || to.kind === 'test')) say('the local runtime does not import entry points or tests');
          break;
      }
    }
  }
  return problems;
}

function repositoryTree(): Map<string, string[]> {
  const tree = new Map<string, string[]>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) tree.set(relative(ROOT, file).replace(/\\/g, '/').replace(/\.ts$/, ''), importsOf(readFileSync(file, 'utf8')));
  }
  return tree;
}

describe('import boundaries', () => {
  const tree = repositoryTree();

  it('reads the imports of every source file', () => {
    expect(tree.size).toBeGreaterThan(60);
    expect(tree.get('lambdas/classifier/handler')).toEqual(expect.arrayContaining(['../shared/house-handler', './process-batch', '@aws-sdk/client-sqs']));
    expect(tree.get('local/sweep/local-sweep')).toEqual(expect.arrayContaining(['aws-local-stepfunctions']));
  });

  it('holds in this repository: no violations', () => {
    expect(violations(tree)).toEqual([]);
  });

  it('no Lambda imports another Lambda', () => {
    const lambdas = [...tree.keys()].filter((f) => layerOf(f).kind === 'lambda');
    expect(lambdas.length).toBeGreaterThan(20);
    expect(violations(new Map(lambdas.map((f) => [f, tree.get(f)!])))).toEqual([]);
  });

  it('fails on each kind of violation', () => {
    const broken = new Map<string, string[]>([
      ['lambdas/core/arn', ['../shared/items', '@aws-sdk/client-s3', 'node:crypto', './model']],
      ['lambdas/shared/store', ['../classifier/plan', '../core/model']],
      ['lambdas/gpu-sweep/sweep', ['../classifier/plan', '../shared/items', 'aws-cdk-lib/aws-iam', '../../lib/config']],
      ['lib/constructs/x', ['../../lambdas/classifier/handler', '../../lambdas/classifier/environment', '../../local/handlers', '../../lambdas/shared/items']],
      ['local/replay/replay', ['../../bin/cli', '../../lib/config']],
    ]);
    expect(violations(broken)).toEqual([
      'lambdas/core/arn imports ../shared/items: the domain core imports nothing of ours outside it',
      'lambdas/core/arn imports @aws-sdk/client-s3: the domain core imports no package',
      'lambdas/shared/store imports ../classifier/plan: shared code imports only the core',
      'lambdas/gpu-sweep/sweep imports ../classifier/plan: a Lambda never imports another Lambda',
      'lambdas/gpu-sweep/sweep imports aws-cdk-lib/aws-iam: a Lambda bundles no CDK',
      'lambdas/gpu-sweep/sweep imports ../../lib/config: a Lambda imports only the core, shared code and its own files',
      'lib/constructs/x imports ../../lambdas/classifier/handler: the CDK app imports only what configures functions',
      'lib/constructs/x imports ../../local/handlers: the CDK app does not depend on the local runtime',
      'lib/constructs/x imports ../../lambdas/shared/items: the CDK app imports only what configures functions',
      'local/replay/replay imports ../../bin/cli: the local runtime does not import entry points or tests',
    ]);
  });

  it('reads every form of import', () => {
    expect(importsOf(`import a from 'a';\nimport { b } from "b";\nimport type { c } from './c';\nexport { d } from './d';\nconst e = await import('e');\nconst f = require('f');\nimport 'g';\nimport {\n  h,\n} from '../h';`)).toEqual(['a', 'b', './c', './d', 'e', 'f', 'g', '../h']);
  });
});
