/**
 * What a guardrail version filters, and whether another filters less. Pure.
 *
 * CloudTrail does not log a guardrail's policies (CreateGuardrail, UpdateGuardrail and
 * CreateGuardrailVersion omit them), so the versions an enforced configuration moves between are
 * read with bedrock:GetGuardrail (guardrailIdentifier, guardrailVersion). The answer's shapes
 * (Bedrock API Reference, "GetGuardrail"): `contentPolicy.filters[]` (type, inputStrength,
 * outputStrength: NONE < LOW < MEDIUM < HIGH), `topicPolicy.topics[]` (denied topics, by name),
 * `wordPolicy.words[]` and `managedWordLists[]`, `sensitiveInformationPolicy.piiEntities[]`
 * (type, action) and `regexes[]`, `contextualGroundingPolicy.filters[]` (type GROUNDING or
 * RELEVANCE, threshold: higher is stricter).
 */
export interface GuardrailFilters {
  /** Content filter strength by `<type> input` / `<type> output`. */
  readonly content: Readonly<Record<string, string>>;
  readonly deniedTopics: readonly string[];
  readonly words: number;
  readonly managedWordLists: readonly string[];
  /** PII entity type to action (BLOCK, ANONYMIZE, NONE). */
  readonly piiEntities: Readonly<Record<string, string>>;
  readonly regexes: readonly string[];
  /** Contextual grounding threshold by type. */
  readonly grounding: Readonly<Record<string, number>>;
}

export interface GuardrailVersion {
  readonly account: string;
  readonly region: string;
  /** The guardrail's ARN (or id, as the request named it). */
  readonly guardrail: string;
  readonly version: string;
}

/** Reads a guardrail version's filters (bedrock:GetGuardrail); undefined when it cannot. */
export type GuardrailReader = (v: GuardrailVersion) => Promise<GuardrailFilters | undefined>;

const STRENGTH = ['NONE', 'LOW', 'MEDIUM', 'HIGH'];
const PII_ACTION = ['NONE', 'ANONYMIZE', 'BLOCK'];

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(rec) : []);
const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** A filter, topic or entity that is switched off (`…Enabled: false`, `enabled: false`) filters nothing. */
const off = (x: Json, side?: 'input' | 'output') => x.enabled === false || (side ? x[`${side}Enabled`] === false : x.inputEnabled === false && x.outputEnabled === false);

/** The filters of a GetGuardrail answer. */
export function guardrailFiltersOf(answer: unknown): GuardrailFilters {
  const g = rec(answer);
  const content: Record<string, string> = {};
  for (const f of arr(rec(g.contentPolicy).filters)) {
    const type = s(f.type);
    if (!type) continue;
    content[`${type} input`] = off(f, 'input') ? 'NONE' : (s(f.inputStrength) ?? 'NONE');
    content[`${type} output`] = off(f, 'output') ? 'NONE' : (s(f.outputStrength) ?? 'NONE');
  }
  const piiEntities: Record<string, string> = {};
  for (const p of arr(rec(g.sensitiveInformationPolicy).piiEntities)) {
    const type = s(p.type);
    if (type) piiEntities[type] = off(p) ? 'NONE' : (s(p.action) ?? 'NONE');
  }
  const grounding: Record<string, number> = {};
  for (const f of arr(rec(g.contextualGroundingPolicy).filters)) {
    const type = s(f.type);
    if (type && typeof f.threshold === 'number' && !off(f)) grounding[type] = f.threshold;
  }
  return {
    content,
    deniedTopics: arr(rec(g.topicPolicy).topics).filter((t) => !off(t)).flatMap((t) => s(t.name) ?? []).sort(),
    words: arr(rec(g.wordPolicy).words).filter((w) => !off(w)).length,
    managedWordLists: arr(rec(g.wordPolicy).managedWordLists).filter((w) => !off(w)).flatMap((w) => s(w.type) ?? []).sort(),
    piiEntities,
    regexes: arr(rec(g.sensitiveInformationPolicy).regexes).filter((r) => !off(r)).flatMap((r) => s(r.name) ?? []).sort(),
    grounding,
  };
}

const rank = (scale: readonly string[], v: string | undefined) => Math.max(0, scale.indexOf(v ?? scale[0]));

/** How `after` filters less than `before`, one line each; empty when it filters at least as much. */
export function weakerFilters(before: GuardrailFilters, after: GuardrailFilters): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before.content)) {
    const now = after.content[k] ?? 'NONE';
    if (rank(STRENGTH, now) < rank(STRENGTH, v)) out.push(`content filter ${k}: ${v} -> ${now}`);
  }
  for (const t of before.deniedTopics) if (!after.deniedTopics.includes(t)) out.push(`denied topic removed: ${t}`);
  if (after.words < before.words) out.push(`blocked words: ${before.words} -> ${after.words}`);
  for (const l of before.managedWordLists) if (!after.managedWordLists.includes(l)) out.push(`managed word list removed: ${l}`);
  for (const [k, v] of Object.entries(before.piiEntities)) {
    const now = after.piiEntities[k] ?? 'NONE';
    if (rank(PII_ACTION, now) < rank(PII_ACTION, v)) out.push(`sensitive information ${k}: ${v} -> ${now}`);
  }
  for (const r of before.regexes) if (!after.regexes.includes(r)) out.push(`sensitive information pattern removed: ${r}`);
  for (const [k, v] of Object.entries(before.grounding)) {
    const now = after.grounding[k];
    if (now === undefined || now < v) out.push(`contextual grounding ${k}: ${v} -> ${now ?? 'off'}`);
  }
  return out;
}
