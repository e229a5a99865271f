/**
 * One environment contract per function, declared once and used on both sides: the CDK
 * construct must supply every variable (a missing one is a compile error, a malformed literal a
 * synth error) and the handler reads them at cold start, failing with one message that lists
 * every problem instead of a `TypeError` deep in a request.
 */
import { METRICS_NAMESPACE } from '../core/defaults';

export interface EnvironmentVariable {
  readonly description: string;
  /** Values must match (checked at synth for literal values, at cold start for all). */
  readonly pattern?: RegExp;
  /** May be absent or empty (then read as ''). */
  readonly optional?: boolean;
}

export type EnvironmentSpec = Record<string, EnvironmentVariable>;
export type EnvironmentOf<S extends EnvironmentSpec> = { readonly [K in keyof S]: string };

export class EnvironmentError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid environment: ${problems.join('; ')}`);
    this.name = 'EnvironmentError';
  }
}

function problemsWith<S extends EnvironmentSpec>(spec: S, values: Record<string, string | undefined>, skip: (v: string) => boolean): string[] {
  const problems: string[] = [];
  for (const [name, variable] of Object.entries(spec)) {
    const value = values[name];
    if (value === undefined || value === '') {
      if (!variable.optional) problems.push(`${name} is not set (${variable.description})`);
    } else if (variable.pattern && !skip(value) && !variable.pattern.test(value)) {
      problems.push(`${name}=${JSON.stringify(value)} does not match ${variable.pattern} (${variable.description})`);
    }
  }
  return problems;
}

/** Read and validate the environment at cold start. */
export function readEnvironment<S extends EnvironmentSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): EnvironmentOf<S> {
  const problems = problemsWith(spec, env, () => false);
  if (problems.length > 0) throw new EnvironmentError(problems);
  return Object.fromEntries(Object.keys(spec).map((k) => [k, env[k] ?? ''])) as EnvironmentOf<S>;
}

/**
 * Build a function's environment at synth time. Values that are deploy-time tokens (CDK writes
 * them as `${Token[...]}`) cannot be checked against the pattern yet; everything else is.
 */
export function environmentFor<S extends EnvironmentSpec>(spec: S, values: EnvironmentOf<S>): Record<string, string> {
  const problems = problemsWith(spec, values, (v) => v.includes('${Token['));
  if (problems.length > 0) throw new EnvironmentError(problems);
  // Empty optional variables are left out rather than set to ''.
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
}

/** Variables every function has: its Powertools service name and metrics namespace. */
export const HOUSE_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: { description: 'service name in logs and metrics' },
  POWERTOOLS_METRICS_NAMESPACE: { description: 'CloudWatch namespace of the metrics', pattern: /^[A-Za-z0-9/_.#:-]{1,255}$/ },
} as const satisfies EnvironmentSpec;

/** The house variables of a function named `service` (the metrics namespace is the domain core's). */
export function houseEnvironment(service: string): EnvironmentOf<typeof HOUSE_ENVIRONMENT> {
  return { POWERTOOLS_SERVICE_NAME: service, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE };
}
