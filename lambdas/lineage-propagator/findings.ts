/**
 * The findings a node's new sensitivity calls for. Pure.
 *
 * Each rule is raised when its condition starts to hold, or holds at a higher level than when it
 * was last raised (`raised` remembers that level per rule); when the condition stops holding the
 * rule is forgotten, so a later relapse is raised again. Recomputing a node without a change
 * raises nothing: findings are not repeated.
 */
import { finding, type FindingRuleId } from '../core/findings';
import { parseArn } from '../core/arn';
import { SERVING_KINDS, TRAINED_MODEL_KINDS, TRAINING_KINDS } from '../core/kinds';
import type { FindingObservation, Signal } from '../core/model';
import { laterOf, nodeKind, ownBasis, rank, RELATIONS, type Cause, type ClassificationScheme, type EventRef, type OwnClassification, type SensitivityFrom, type UpstreamState } from '../core/lineage';

/** The level each lineage rule was last raised at, per node. */
export type Raised = Readonly<Partial<Record<FindingRuleId, string>>>;


export interface NodeView {
  readonly node: string;
  readonly kind: string;
  readonly own: OwnClassification | null;
  readonly sensitivity: string | null;
  readonly sensitivityFrom: SensitivityFrom | null;
  /** The latest event the sensitivity rests on: the findings are dated and attributed with it. */
  readonly basis?: EventRef | null;
}

function lineageSignals(from: SensitivityFrom): Signal[] {
  return [
    { eventName: 'lineage', path: 'sensitivityFrom.arn', value: from.arn, note: 'classified source' },
    { eventName: 'lineage', path: 'sensitivityFrom.tag', value: from.tag },
    { eventName: 'lineage', path: 'sensitivityFrom.path', value: from.path.join(' -> ') },
  ];
}

const describe = (from: SensitivityFrom) => `${from.arn} (${from.tag})${from.path.length > 2 ? `, by way of ${from.path.slice(1, -1).join(' -> ')}` : ''}`;
/** Where a node's data comes from: its upstream source, or its own classification tag. */
const origin = (from: SensitivityFrom) => (from.path.length === 1 ? `(its own tag ${from.tag})` : `from ${describe(from)}`);

export function lineageFindings(
  scheme: ClassificationScheme,
  view: NodeView,
  raisedBefore: Raised,
  upstream: readonly UpstreamState[],
  cause: Cause,
): { raised: Raised; findings: FindingObservation[] } {
  const raised: Partial<Record<FindingRuleId, string>> = {};
  const findings: FindingObservation[] = [];
  const arn = parseArn(view.node);
  // Dated by the facts, not by the message that happened to recompute the node: any order of
  // arrival raises the same findings (the cause is the fallback for states written before).
  const place = { account: arn?.account || cause.account, region: arn?.region || cause.region };
  const occasion = (basis: EventRef | null | undefined) => (basis ? { eventId: basis.eventId, time: basis.time, ...place } : { eventId: cause.eventId, time: cause.time, ...place });
  const sensitive = (level: string | null) => rank(scheme, level) >= rank(scheme, scheme.sensitiveFrom) && rank(scheme, level) > 0;

  const consider = (rule: FindingRuleId, level: string | null, holds: boolean, summary: () => string, signals: () => Signal[], basis: EventRef | null | undefined = view.basis) => {
    if (!holds || !level) return;
    raised[rule] = level;
    if (rank(scheme, level) > rank(scheme, raisedBefore[rule])) {
      findings.push(finding(rule, occasion(basis), { resource: view.node, principal: null, summary: summary(), signals: signals() }));
    }
  };

  const from = view.sensitivityFrom;
  if (from && sensitive(view.sensitivity)) {
    consider('sensitive-data-in-training', view.sensitivity, TRAINING_KINDS.has(view.kind), () => `${view.kind} ${view.node} trains on ${view.sensitivity} data ${origin(from)}.`, () => lineageSignals(from));
    consider('sensitive-data-in-knowledge-base', view.sensitivity, view.kind === 'knowledge-base', () => `Knowledge base ${view.node} holds ${view.sensitivity} data ${origin(from)}: it answers with it.`, () => lineageSignals(from));
    const model = from.path.slice(0, -1).find((n) => TRAINED_MODEL_KINDS.has(nodeKind(n)));
    consider(
      'sensitive-model-exposed',
      view.sensitivity,
      SERVING_KINDS.has(view.kind) && model !== undefined,
      () => `${view.kind} ${view.node} serves model ${model}, which is derived from ${view.sensitivity} data in ${describe(from)}.`,
      () => lineageSignals(from),
    );
  }

  // A store that receives logged prompts (Bedrock invocation logging, SageMaker data capture).
  const logged = upstream.filter((u) => u.relation === RELATIONS.logsTo && u.sensitivityFrom && sensitive(u.sensitivity));
  const strongest = logged.sort((a, b) => rank(scheme, b.sensitivity) - rank(scheme, a.sensitivity))[0];
  const storeLevel = view.own?.level ?? null;
  if (strongest?.sensitivityFrom) {
    const through = strongest.sensitivityFrom;
    consider(
      'prompts-logged-to-weaker-store',
      strongest.sensitivity,
      rank(scheme, strongest.sensitivity) > rank(scheme, storeLevel),
      () =>
        `${strongest.node} logs prompts and completions carrying ${strongest.sensitivity} data (from ${describe(through)}) to ${view.node}, which is ${storeLevel ? `classified only ${storeLevel}` : 'not classified'}.`,
      () => [...lineageSignals(through), { eventName: 'lineage', path: 'store.classification', value: view.own?.tag ?? null, note: storeLevel ? `store is ${storeLevel}` : 'store has no classification tag' }],
      laterOf(laterOf(strongest.basis, strongest.edge), ownBasis(view.own)),
    );
  }
  return { raised, findings };
}
