/**
 * A Distributed Map, emulated: aws-local-stepfunctions runs inline Map states only, so the
 * synthesized history import is run here part by part. The emulation reads the synthesized Map
 * state (its ItemReader, ItemBatcher, MaxConcurrency and ToleratedFailurePercentage), lists the
 * objects as S3 ListObjectsV2 would (keys under the prefix, in UTF-8 binary order), cuts them into
 * the batches the ItemBatcher makes (with its BatchInput), and runs the synthesized ItemProcessor
 * once per batch with aws-local-stepfunctions, its Task states bound to local handlers, at most
 * MaxConcurrency at once. A run fails when more batches fail than the tolerated percentage, as a
 * Map Run does.
 */
import { pool } from '../../lambdas/shared/pool';

type Json = Record<string, unknown>;

export interface EmulatedMapRun {
  readonly items: number;
  readonly batches: number;
  readonly failedBatches: number;
  readonly results: unknown[];
  readonly errors: string[];
}

export class MapRunFailed extends Error {
  constructor(readonly run: EmulatedMapRun, tolerated: number) {
    super(`${run.failedBatches} of ${run.batches} batches failed, above the tolerated ${tolerated}%: ${run.errors.slice(0, 3).join('; ')}`);
  }
}

/** `$.a.b` or `$$.Execution.Name` against the input and the execution context (the paths the definition uses). */
function resolve(path: string, input: Json, context: Json): unknown {
  const [root, rest] = path.startsWith('$$.') ? [context, path.slice(3)] : path.startsWith('$.') ? [input, path.slice(2)] : [undefined, ''];
  if (root === undefined) throw new Error(`unsupported path ${path}`);
  return rest.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Json)[k] : undefined), root);
}

function parameters(spec: Json, input: Json, context: Json): Json {
  return Object.fromEntries(Object.entries(spec).map(([k, v]) => (k.endsWith('.$') ? [k.slice(0, -2), resolve(String(v), input, context)] : [k, v])));
}

/** The one Distributed Map state of a definition, by its name. */
export function distributedMapOf(definition: Json): { name: string; state: Json } {
  const states = definition.States as Record<string, Json>;
  const found = Object.entries(states).filter(([, s]) => s.Type === 'Map' && (s.ItemProcessor as Json | undefined)?.ProcessorConfig && ((s.ItemProcessor as Json).ProcessorConfig as Json).Mode === 'DISTRIBUTED');
  if (found.length !== 1) throw new Error(`expected one Distributed Map state, found ${found.length}`);
  return { name: found[0][0], state: found[0][1] };
}

export async function runDistributedMap(options: {
  readonly definition: Json;
  readonly input: Json;
  readonly executionName: string;
  /** ListObjectsV2 over a bucket and prefix: every key and size, in any order (sorted here as S3 does). */
  readonly listObjects: (bucket: string, prefix: string) => Promise<Array<{ Key: string; Size: number }>>;
  /** Task states of the ItemProcessor by name, bound to local handlers. */
  readonly handlers: Record<string, (input: unknown) => Promise<unknown>>;
}): Promise<EmulatedMapRun> {
  const { state } = distributedMapOf(options.definition);
  const context = { Execution: { Name: options.executionName } };
  const reader = state.ItemReader as Json;
  if (!String(reader.Resource).endsWith(':s3:listObjectsV2')) throw new Error(`unsupported ItemReader ${String(reader.Resource)}`);
  const where = parameters(reader.Parameters as Json, options.input, context) as { Bucket: string; Prefix?: string };
  const listed = (await options.listObjects(where.Bucket, where.Prefix ?? '')).filter((o) => o.Key.startsWith(where.Prefix ?? ''));
  listed.sort((a, b) => Buffer.compare(Buffer.from(a.Key), Buffer.from(b.Key)));

  const batcher = (state.ItemBatcher ?? {}) as Json;
  const size = Number(batcher.MaxItemsPerBatch ?? 1);
  const batchInput = batcher.BatchInput ? parameters(batcher.BatchInput as Json, options.input, context) : undefined;
  const batches: Json[] = [];
  for (let i = 0; i < listed.length; i += size) batches.push({ Items: listed.slice(i, i + size), ...(batchInput ? { BatchInput: batchInput } : {}) });

  const processor = { ...(state.ItemProcessor as Json) };
  delete processor.ProcessorConfig;
  // aws-local-stepfunctions uses Promise.withResolvers (Node.js 22); polyfill it on Node.js 20.
  const P = Promise as unknown as { withResolvers?: () => unknown };
  P.withResolvers ??= () => {
    let resolveIt!: (v: unknown) => void;
    let rejectIt!: (e: unknown) => void;
    const promise = new Promise((res, rej) => ((resolveIt = res), (rejectIt = rej)));
    return { promise, resolve: resolveIt, reject: rejectIt };
  };
  const { StateMachine } = await import('aws-local-stepfunctions');
  const machine = new StateMachine(processor as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const results: unknown[] = [];
  const errors: string[] = [];
  await pool(batches, Number(state.MaxConcurrency ?? 1) || batches.length || 1, async (batch) => {
    try {
      const execution = machine.run(batch as never, { overrides: { taskResourceLocalHandlers: options.handlers as never, retryIntervalOverrides: Object.fromEntries(Object.keys(options.handlers).map((k) => [k, 0])) as never } });
      results.push(await execution.result);
    } catch (error) {
      errors.push(String((error as Error).message ?? error));
    }
  });
  const run: EmulatedMapRun = { items: listed.length, batches: batches.length, failedBatches: errors.length, results, errors };
  const tolerated = Number(state.ToleratedFailurePercentage ?? 0);
  if (batches.length > 0 && (errors.length / batches.length) * 100 > tolerated) throw new MapRunFailed(run, tolerated);
  return run;
}
