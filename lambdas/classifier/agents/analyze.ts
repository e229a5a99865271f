/**
 * The agent step of a batch: which callers are agents, what each agent did, and what of it is a
 * finding. Reads state through an `AgentDirectory` (stored principals, function roles, recent
 * denials) and otherwise decides purely from the events.
 *
 * A caller is an agent when the directory already knows it as one, or when this batch carries
 * evidence for it (identify.ts), or by behaviour: a principal that invoked a model and then,
 * within `behaviourWindowMs`, made a successful write to a service other than the AI services.
 * Guards against false positives: human sessions (console, IAM Identity Center, browsers) and
 * service-linked roles are never agents, and the model call must be the principal's own.
 */
import { OWN_ACTIVITY } from '../classify';
import { finding, type FindingRuleId } from '../../core/findings';
import { eventSignal, fieldSignal, signal, str } from '../evidence';
import { isInteractiveSession } from '../principal';
import type { Classification, NormalizedEvent } from '../types';
import type { FindingObservation, PrincipalObservation, ResourceObservation, Signal } from '../../core/model';
import { groupBy } from '../../shared/collections';
import { completedBursts } from '../bursts';
import { AGENT_DEFAULTS } from '../../core/defaults';
import { INVOCABLE_MODEL_KINDS } from '../../core/kinds';
import { parseArn, taggedPrincipalOf } from '../../core/arn';
import { AGENT_TAG_KEY } from '../../core/constants';
import { arnsIn, classifyAction, isSecretAccess, outcomeOf, touchedResources, type ActionClass } from './actions';
import { callerOf, functionRoleOf, identifyAgents, isMutationElsewhere, principalOf, type AgentEvidence, type AgentIdentificationOptions, type FunctionRole } from './identify';

export interface AgentSettings extends AgentIdentificationOptions {
  /** Model call, then a write elsewhere within this window: an agent. */
  readonly behaviourWindowMs: number;
  /** `count` denied actions within `windowMs`: agent-denied-burst. */
  readonly deniedBurst: { readonly count: number; readonly windowMs: number };
}

export const DEFAULT_AGENT_SETTINGS: AgentSettings = {
  behaviourWindowMs: AGENT_DEFAULTS.behaviourWindowSeconds * 1000,
  deniedBurst: { count: AGENT_DEFAULTS.deniedBurstCount, windowMs: AGENT_DEFAULTS.deniedBurstSeconds * 1000 },
};

export interface PrincipalState {
  readonly agent: boolean;
  /** Already in the set the agent capture rules watch. */
  readonly watched: boolean;
  /** Time of the principal's newest model call, as stored. */
  readonly lastModelCallAt?: string;
}

export interface Denial {
  readonly time: string;
  readonly eventId: string;
}

export interface AgentDirectory {
  principals(arns: readonly string[]): Promise<Map<string, PrincipalState>>;
  /** Execution roles of Lambda functions, from earlier events or a lookup. */
  functionRoles(functionArns: readonly string[]): Promise<Map<string, string>>;
  /**
   * An agent's stored denials that come before `before` (by time, then event id) and no earlier
   * than `from`, nearest first, at most `limit`; `before` itself is left out.
   */
  deniedBefore(agent: string, from: string, before: Denial, limit: number): Promise<Denial[]>;
  /** An agent's stored denials after `after` and no later than `to`, nearest first, at most `limit`; `after` itself is left out. */
  deniedAfter(agent: string, after: Denial, to: string, limit: number): Promise<Denial[]>;
  /**
   * Which of these roles and users carry `ai-visibility:agent=true` as a (cached) tag lookup
   * reads it: agents declared by a tag set before the deploy. @default none (no lookups)
   */
  declaredByTag?(principals: readonly string[]): Promise<Set<string>>;
}

export interface BatchEvent {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly classification: Classification;
}

export interface AgentAction {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly agent: string;
  readonly session?: string;
  readonly classes: readonly ActionClass[];
  readonly outcome: string;
  readonly resources: readonly string[];
  /** Models the action invoked (for the agent's profile). */
  readonly models: readonly string[];
}

export interface EvidenceSighting {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly evidence: AgentEvidence & { readonly principal: string };
}

export interface AgentAnalysis {
  readonly evidence: EvidenceSighting[];
  readonly actions: AgentAction[];
  readonly findings: Array<{ readonly messageId: string; readonly finding: FindingObservation }>;
  readonly functionRoles: Array<{ readonly messageId: string; readonly event: NormalizedEvent; readonly fact: FunctionRole }>;
  /** Principals whose every action the capture rules should bring in: agents and candidates. */
  readonly watch: Array<{ readonly messageId: string; readonly principal: string; readonly iamArn?: string; readonly reason: 'agent' | 'candidate' }>;
  /** Resources created by agents, to enter the inventory with `createdByAgent`. */
  readonly created: Array<{ readonly messageId: string; readonly event: NormalizedEvent; readonly resource: ResourceObservation }>;
}


const ms = (iso: string) => Date.parse(iso);

/** Callers that can never be agents: people at a keyboard, AWS services, service-linked roles. */
function neverAgent(caller: PrincipalObservation, event: NormalizedEvent): boolean {
  return isInteractiveSession(event) || caller.type === 'AWSService' || (caller.iamArn ?? caller.arn).includes('/aws-service-role/');
}

function actionFindings(action: AgentAction, agent: string): FindingObservation[] {
  const { event, classes, resources } = action;
  if (action.outcome !== 'success') return [];
  const subject = resources[0] ?? agent;
  const what = `${event.eventSource.replace('.amazonaws.com', '')}:${event.eventName}`;
  const signals: Signal[] = [eventSignal(event), signal(event, 'eventSource', event.eventSource)];
  const raise = (rule: FindingRuleId, summary: string) => finding(rule, event, { resource: subject, principal: agent, summary, signals });
  const out: FindingObservation[] = [];
  if (classes.includes('privilege')) out.push(raise('agent-privilege-change', `Agent ${agent} changed permissions with ${what}.`));
  if (classes.includes('provision')) out.push(raise('agent-provisioned-resource', `Agent ${agent} created or started a resource with ${what}.`));
  if (classes.includes('destructive')) out.push(raise('agent-destructive-action', `Agent ${agent} deleted or terminated a resource with ${what}.`));
  if (classes.includes('cross-account')) out.push(raise('agent-cross-account-action', `Agent ${agent} acted outside its own account with ${what}.`));
  if (isSecretAccess(event)) out.push(raise('agent-secret-access', `Agent ${agent} read secret material with ${what}.`));
  return out;
}

/**
 * Denied bursts: a finding at the denial that completes `count` denials within `windowMs`
 * (inclusive: denials exactly `windowMs` apart count), so one burst raises one finding, whatever
 * the order in which the denials arrive (bursts.ts: a late denial re-judges the stored ones after
 * it; the reads stay bounded however busy the agent).
 */
async function deniedBursts(actions: readonly AgentAction[], directory: AgentDirectory, settings: AgentSettings): Promise<Array<{ messageId: string; finding: FindingObservation }>> {
  const { count, windowMs } = settings.deniedBurst;
  const byAgent = new Map<string, Map<string, AgentAction>>();
  for (const a of actions) {
    if (!a.classes.includes('denied')) continue;
    const mine = byAgent.get(a.agent) ?? new Map<string, AgentAction>();
    if (!mine.has(a.event.eventId)) mine.set(a.event.eventId, a);
    byAgent.set(a.agent, mine);
  }
  const out: Array<{ messageId: string; finding: FindingObservation }> = [];
  for (const [agent, mine] of byAgent) {
    const fresh = [...mine.values()].map((action) => ({ time: action.event.time, eventId: action.event.eventId, action }));
    const completers = await completedBursts(fresh, { before: (from, o, limit) => directory.deniedBefore(agent, from, o, limit), after: (o, to, limit) => directory.deniedAfter(agent, o, to, limit) }, count, windowMs);
    for (const c of completers) {
      // A stored denial a late one completed: the finding is the stored denial's, told by the late one.
      const action = 'action' in c ? (c as { action: AgentAction }).action : undefined;
      const teller = action ?? fresh[0].action;
      const occasion = action?.event ?? { eventId: c.eventId, time: c.time, account: teller.event.account, region: teller.event.region };
      out.push({
        messageId: teller.messageId,
        finding: finding('agent-denied-burst', occasion, {
          resource: agent,
          principal: agent,
          summary: `Agent ${agent} was refused ${count} times within ${Math.round(windowMs / 1000)} s, the last at ${c.time}${action ? ` for ${action.event.eventSource.replace('.amazonaws.com', '')}:${action.event.eventName}` : ''}.`,
          signals: action ? [eventSignal(action.event), signal(action.event, 'errorCode', action.event.errorCode ?? action.outcome)] : [{ eventName: teller.event.eventName, path: 'eventID', value: c.eventId, note: `the refusal that completes the burst, at ${c.time} (stored before this batch's earlier refusals arrived)` }],
        }),
      });
    }
  }
  return out;
}

type Call = BatchEvent & { readonly caller: PrincipalObservation | undefined };

/** Evidence the events carry themselves, with action-group functions resolved to their execution roles. */
async function identifiedEvidence(calls: readonly Call[], directory: AgentDirectory, settings: AgentSettings): Promise<{ evidence: EvidenceSighting[]; functionRoles: AgentAnalysis['functionRoles'] }> {
  const functionRoles = calls.flatMap((c) => {
    const fact = functionRoleOf(c.event);
    return fact ? [{ messageId: c.messageId, event: c.event, fact }] : [];
  });
  const raw = calls.flatMap((c) => identifyAgents(c.event, c.classification, settings).map((evidence) => ({ messageId: c.messageId, event: c.event, evidence })));
  const unresolved = raw.filter((r) => !r.evidence.principal && r.evidence.functionArn).map((r) => r.evidence.functionArn!);
  const known = unresolved.length ? await directory.functionRoles(unresolved) : new Map<string, string>();
  for (const f of functionRoles) known.set(f.fact.functionArn, f.fact.role);
  const evidence: EvidenceSighting[] = [];
  for (const r of raw) {
    if (r.evidence.principal) {
      evidence.push({ ...r, evidence: { ...r.evidence, principal: r.evidence.principal } });
      continue;
    }
    const role = r.evidence.functionArn ? known.get(r.evidence.functionArn.replace(/:\$LATEST$/, '')) : undefined;
    if (role) evidence.push({ ...r, evidence: { ...r.evidence, ...principalOf(role) } });
  }
  return { evidence, functionRoles };
}

/**
 * A role an agent assumes (a successful `AssumeRole` by an agent principal) runs the agent from
 * then on: its calls, in its own account, are the agent's. Constructed evidence, so the role is
 * watched and its calls in every account of the organization reach the ledger (the trail
 * reader's look-back finds those made before it was watched). Others who assume the same role
 * are followed too: the ledger is per principal.
 */
function assumedByAgents(calls: readonly Call[], agents: ReadonlySet<string>): EvidenceSighting[] {
  const out: EvidenceSighting[] = [];
  for (const c of calls) {
    if (!c.caller || !agents.has(c.caller.arn) || c.event.errorCode || c.event.eventSource !== 'sts.amazonaws.com' || c.event.eventName !== 'AssumeRole') continue;
    const role = str(c.event.record, 'requestParameters.roleArn');
    if (!role) continue;
    const assumed = principalOf(role);
    if (assumed.principal === c.caller.arn || !/^arn:[^:]+:iam::\d{12}:role\//.test(assumed.principal)) continue;
    out.push({ messageId: c.messageId, event: c.event, evidence: { ...assumed, how: 'constructed', signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.roleArn', `a role the agent ${c.caller.arn} assumed`)] } });
  }
  return out;
}

/** Behaviour: a model call (in this batch, or the stored newest one), then a write elsewhere within the window. */
function behaviourEvidence(calls: readonly Call[], state: ReadonlyMap<string, PrincipalState>, settings: AgentSettings): EvidenceSighting[] {
  const modelCalls = groupBy(
    calls.filter((c) => c.caller && c.classification.principal?.role === 'ai-application'),
    (c) => c.caller!.arn,
  );
  const out: EvidenceSighting[] = [];
  for (const c of calls) {
    if (!c.caller || neverAgent(c.caller, c.event) || !isMutationElsewhere(c.event)) continue;
    const stored = state.get(c.caller.arn)?.lastModelCallAt;
    const candidates = [...(modelCalls.get(c.caller.arn) ?? []).map((m) => m.event.time), ...(stored ? [stored] : [])].filter((t) => t <= c.event.time);
    if (candidates.length === 0) continue;
    const last = candidates.sort().at(-1)!;
    const gap = ms(c.event.time) - ms(last);
    if (gap <= settings.behaviourWindowMs) {
      out.push({
        messageId: c.messageId,
        event: c.event,
        evidence: {
          principal: c.caller.arn,
          how: 'behaviour',
          signals: [eventSignal(c.event, `a write ${Math.round(gap / 1000)} s after its model call at ${last}`), signal(c.event, 'eventSource', c.event.eventSource)],
        },
      });
    }
  }
  return out;
}

/** What a provisioning action of an agent created outside the AI services (at most five per event), for the inventory. */
function createdBy(c: Call, agent: string, resources: readonly string[]): AgentAnalysis['created'] {
  return createdArns(c.event, resources)
    .slice(0, 5)
    .map((arn) => {
      const parsed = parseArn(arn);
      return {
        messageId: c.messageId,
        event: c.event,
        resource: {
          arn,
          kind: 'agent-created-resource',
          service: parsed?.service ?? 'unknown',
          account: parsed?.account || c.event.account,
          region: parsed?.region || c.event.region,
          status: 'active',
          attributes: { createdByAgent: agent },
          signals: [eventSignal(c.event, 'created by an agent'), signal(c.event, 'resources', arn)],
        },
      };
    });
}

/** Each agent's calls as ledger actions, the findings they raise, and what they created. */
function agentActions(calls: readonly Call[], agents: ReadonlySet<string>): Pick<AgentAnalysis, 'actions' | 'findings' | 'created'> {
  const actions: AgentAction[] = [];
  const findings: Array<{ messageId: string; finding: FindingObservation }> = [];
  const created: AgentAnalysis['created'] = [];
  for (const c of calls) {
    if (!c.caller || !agents.has(c.caller.arn)) continue;
    const resources = touchedResources(c.event);
    const action: AgentAction = {
      messageId: c.messageId,
      event: c.event,
      agent: c.caller.arn,
      session: typeof c.event.record.userIdentity?.arn === 'string' ? c.event.record.userIdentity.arn : undefined,
      classes: classifyAction(c.event, resources),
      outcome: outcomeOf(c.event),
      resources,
      models: c.classification.principal?.role === 'ai-application' ? c.classification.resources.filter((r) => INVOCABLE_MODEL_KINDS.has(r.kind)).map((r) => r.arn) : [],
    };
    actions.push(action);
    for (const f of actionFindings(action, c.caller.arn)) findings.push({ messageId: c.messageId, finding: f });
    // What the agent created that is not an AI resource still enters the inventory.
    if (action.classes.includes('provision') && action.outcome === 'success' && c.classification.resources.length === 0) created.push(...createdBy(c, c.caller.arn, resources));
  }
  return { actions, findings, created };
}

/**
 * New agents, and model callers that are not people (candidates, watched so their behaviour can
 * show), join the set the agent capture rules follow.
 */
function watchList(calls: readonly Call[], evidence: readonly EvidenceSighting[], state: ReadonlyMap<string, PrincipalState>, agents: ReadonlySet<string>): AgentAnalysis['watch'] {
  const watch = new Map<string, AgentAnalysis['watch'][number]>();
  const iamArnOf = (arn: string) => evidence.find((e) => e.evidence.principal === arn && e.evidence.iamArn)?.evidence.iamArn ?? calls.find((c) => c.caller?.arn === arn)?.caller?.iamArn;
  for (const e of evidence) {
    const s = state.get(e.evidence.principal);
    if (!s?.agent || !s.watched) watch.set(e.evidence.principal, { messageId: e.messageId, principal: e.evidence.principal, iamArn: iamArnOf(e.evidence.principal), reason: 'agent' });
  }
  for (const c of calls) {
    if (c.caller && c.classification.principal?.role === 'ai-application' && !neverAgent(c.caller, c.event) && !agents.has(c.caller.arn) && !state.get(c.caller.arn)?.watched && !watch.has(c.caller.arn)) {
      watch.set(c.caller.arn, { messageId: c.messageId, principal: c.caller.arn, iamArn: c.caller.iamArn, reason: 'candidate' });
    }
  }
  return [...watch.values()];
}

export async function analyzeAgents(batch: readonly BatchEvent[], directory: AgentDirectory, settings: AgentSettings = DEFAULT_AGENT_SETTINGS): Promise<AgentAnalysis> {
  // Who called, for every event (classify records no principal for events outside its sources).
  const calls: Call[] = batch.filter((b) => b.classification.ignoredBecause !== OWN_ACTIVITY).map((b) => ({ ...b, caller: callerOf(b.event, b.classification) }));
  const { evidence, functionRoles } = await identifiedEvidence(calls, directory, settings);
  const callers = [...new Set(calls.flatMap((c) => (c.caller ? [c.caller.arn] : [])))];
  const state = await directory.principals([...new Set([...callers, ...evidence.map((e) => e.evidence.principal)])]);
  evidence.push(...behaviourEvidence(calls, state, settings));

  evidence.push(...(await lookedUpDeclarations(calls, state, evidence, directory)));

  const agents = new Set<string>([...[...state].filter(([, s]) => s.agent).map(([arn]) => arn), ...evidence.map((e) => e.evidence.principal)]);
  for (const e of assumedByAgents(calls, agents)) {
    evidence.push(e);
    agents.add(e.evidence.principal);
  }
  const { actions, findings, created } = agentActions(calls, agents);
  findings.push(...(await deniedBursts(actions, directory, settings)));
  return { evidence, actions, findings, functionRoles, watch: watchList(calls, evidence, state, agents), created };
}

/**
 * Declared by a tag set before the deploy: the AI applications of the batch not yet known as
 * agents whose role (or user) a lookup finds tagged `ai-visibility:agent=true`; one sighting per
 * principal, its first call of the batch.
 */
async function lookedUpDeclarations(calls: readonly Call[], state: ReadonlyMap<string, PrincipalState>, evidence: readonly EvidenceSighting[], directory: AgentDirectory): Promise<EvidenceSighting[]> {
  if (!directory.declaredByTag) return [];
  const known = new Set(evidence.map((e) => e.evidence.principal));
  const first = new Map<string, Call>();
  for (const c of calls) {
    if (!c.caller || c.classification.principal?.role !== 'ai-application' || state.get(c.caller.arn)?.agent || known.has(c.caller.arn) || isInteractiveSession(c.event)) continue;
    if (!first.has(c.caller.arn)) first.set(c.caller.arn, c);
  }
  const tagged = new Map([...first.keys()].flatMap((arn) => {
    const t = taggedPrincipalOf(arn);
    return t ? [[arn, t] as const] : [];
  }));
  if (tagged.size === 0) return [];
  const declared = await directory.declaredByTag([...new Set(tagged.values())]);
  return [...first].flatMap(([arn, c]) =>
    declared.has(tagged.get(arn) ?? '')
      ? [{ messageId: c.messageId, event: c.event, evidence: { principal: arn, how: 'declared' as const, signals: [signal(c.event, 'userIdentity.arn', arn, `${AGENT_TAG_KEY}=true on ${tagged.get(arn)} (tag lookup)`)] } }]
      : [],
  );
}

/** ARNs a provisioning call created: those its response names, else those CloudTrail lists. */
function createdArns(event: NormalizedEvent, touched: readonly string[]): string[] {
  const found = arnsIn(event.record.responseElements, 5, 4);
  return found.length > 0 ? found : [...touched];
}

/** Attach `createdByAgent` to the AI resources an agent's successful provisioning call revealed. */
export function markCreatedByAgents(batch: readonly BatchEvent[], analysis: AgentAnalysis): Map<string, Classification> {
  const out = new Map<string, Classification>();
  const byMessage = new Map(batch.map((b) => [b.messageId, b]));
  for (const a of analysis.actions) {
    if (!a.classes.includes('provision') || a.outcome !== 'success') continue;
    const b = byMessage.get(a.messageId);
    if (!b || b.classification.resources.length === 0) continue;
    out.set(a.messageId, {
      ...b.classification,
      resources: b.classification.resources.map((r) => ({ ...r, attributes: { ...r.attributes, createdByAgent: a.agent } })),
    });
  }
  return out;
}
