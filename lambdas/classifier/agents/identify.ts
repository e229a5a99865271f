/**
 * Which principals are AI agents, and the evidence for each: pure functions of one event.
 * (Behaviour, which needs a principal's history, is decided in analyze.ts with the help of the
 * stored `lastModelCallAt`.)
 *
 * - declared: IAM TagRole/TagUser setting `ai-visibility:agent=true`; AssumeRole passing that
 *   session tag; principals listed in the configuration.
 * - constructed: the service role a Bedrock agent runs as (CreateAgent/UpdateAgent
 *   `agentResourceRoleArn`, or a role named `AmazonBedrockExecutionRoleForAgents_*` acting), the
 *   execution roles of AgentCore runtimes and gateways (their create/update events), and the
 *   execution roles of the Lambda functions behind a Bedrock agent's action groups (its tools).
 * - session: a session whose source identity or role session name marks an agent, or whose
 *   user agent is an agent framework's.
 * A person's interactive session (console, browser, IAM Identity Center, root) is never an agent.
 */
import { AGENT_TAG_KEY } from '../../core/constants';
import { AI_EVENT_SOURCES } from '../../core/kinds';
import { agentCoreArn, arnOrBuild, bedrockArn, canonicalPrincipal } from '../../core/arn';
import { eventSignal, fieldSignal, list, signal, str } from '../evidence';
import { identifyPrincipal, isInteractiveSession } from '../principal';
import type { Classification, NormalizedEvent } from '../types';
import type { PrincipalObservation, Signal } from '../../core/model';
import { isReadOnly } from './actions';

export const AGENT_EVIDENCE_KINDS = ['declared', 'constructed', 'session', 'behaviour'] as const;
export type AgentEvidenceKind = (typeof AGENT_EVIDENCE_KINDS)[number];

export interface AgentEvidence {
  /** The principal that is an agent (canonical principal ARN), when the event names it. */
  readonly principal?: string;
  /** Its exact IAM ARN, when the event names it with a path (the capture rules match on it). */
  readonly iamArn?: string;
  /** An action-group Lambda whose execution role is the agent's tool principal (resolved later). */
  readonly functionArn?: string;
  readonly how: AgentEvidenceKind;
  /** The agent resource the principal acts for (agent, runtime, gateway), when known. */
  readonly agent?: string;
  readonly signals: readonly Signal[];
}

/** A Lambda function and its execution role, as CreateFunction/UpdateFunctionConfiguration show them. */
export interface FunctionRole {
  readonly functionArn: string;
  /** The exact IAM ARN of the role, path included. */
  readonly role: string;
  readonly signals: readonly Signal[];
}

export const BEDROCK_AGENT_ROLE_PREFIX = 'AmazonBedrockExecutionRoleForAgents_';

export interface AgentIdentificationOptions {
  /** Principals declared agents in the configuration (ARNs; role and user paths are ignored). */
  readonly declared?: ReadonlySet<string>;
  /** Source identities and role session names that mark an agent. */
  readonly sessionMarker?: RegExp;
  /** User agents of agent frameworks. */
  readonly frameworkUserAgent?: RegExp;
}

export const DEFAULT_SESSION_MARKER = /(^|[^a-z0-9])(agent|agentcore|bedrock-agent)([^a-z0-9]|$)/i;
export const DEFAULT_FRAMEWORK_USER_AGENT = /(langchain|langgraph|llama[-_]?index|crewai|autogen|strands-agents|openai-agents|semantic[-_]kernel|smolagents|pydantic[-_]ai)/i;

/** The canonical principal of an IAM ARN, and the ARN itself when it has a path. */
export function principalOf(arn: string): { principal: string; iamArn?: string } {
  const principal = canonicalPrincipal(arn);
  return principal === arn ? { principal } : { principal, iamArn: arn };
}

function tagSetIsAgent(tags: readonly unknown[]): { index: number; keyPath: string } | undefined {
  for (const [index, tag] of tags.entries()) {
    const key = str(tag, 'key') ?? str(tag, 'Key');
    const value = str(tag, 'value') ?? str(tag, 'Value');
    if (key?.toLowerCase() === AGENT_TAG_KEY && value?.toLowerCase() === 'true') return { index, keyPath: str(tag, 'key') !== undefined ? 'key' : 'Key' };
  }
  return undefined;
}

function constructed(event: NormalizedEvent, c: Classification): AgentEvidence[] {
  if (event.errorCode) return [];
  const out: AgentEvidence[] = [];
  const roleEvidence = (path: string, agent: string | undefined) => {
    const role = str(event.record, path);
    if (role) out.push({ ...principalOf(role), how: 'constructed', agent, signals: [eventSignal(event), fieldSignal(event, path, 'runs as this role')] });
  };
  const resourceOf = (kind: string) => c.resources.find((r) => r.kind === kind)?.arn;

  switch (`${event.eventSource} ${event.eventName}`) {
    case 'bedrock.amazonaws.com CreateAgent':
    case 'bedrock.amazonaws.com UpdateAgent': {
      const agent = resourceOf('agent') ?? (str(event.record, 'requestParameters.agentId') ? bedrockArn(event, 'agent', str(event.record, 'requestParameters.agentId')!) : undefined);
      roleEvidence(str(event.record, 'requestParameters.agentResourceRoleArn') ? 'requestParameters.agentResourceRoleArn' : 'responseElements.agent.agentResourceRoleArn', agent);
      break;
    }
    case 'bedrock.amazonaws.com CreateAgentActionGroup':
    case 'bedrock.amazonaws.com UpdateAgentActionGroup': {
      const fn = str(event.record, 'requestParameters.actionGroupExecutor.lambda');
      const agentId = str(event.record, 'requestParameters.agentId');
      if (fn) {
        out.push({
          functionArn: fn,
          how: 'constructed',
          agent: agentId ? bedrockArn(event, 'agent', agentId) : undefined,
          signals: [eventSignal(event), fieldSignal(event, 'requestParameters.actionGroupExecutor.lambda', "the agent's tool: its execution role acts for the agent")],
        });
      }
      break;
    }
    case 'bedrock-agentcore.amazonaws.com CreateAgentRuntime':
    case 'bedrock-agentcore.amazonaws.com UpdateAgentRuntime': {
      const id = str(event.record, 'requestParameters.agentRuntimeId');
      roleEvidence('requestParameters.roleArn', resourceOf('agent-runtime') ?? (id ? agentCoreArn(event, 'runtime', id) : undefined));
      break;
    }
    case 'bedrock-agentcore.amazonaws.com CreateGateway':
    case 'bedrock-agentcore.amazonaws.com UpdateGateway': {
      const id = str(event.record, 'requestParameters.gatewayIdentifier');
      roleEvidence('requestParameters.roleArn', resourceOf('agent-gateway') ?? (id ? arnOrBuild(id, (g) => agentCoreArn(event, 'gateway', g)) : undefined));
      break;
    }
  }
  return out;
}

function declared(event: NormalizedEvent, caller: PrincipalObservation | undefined, options: AgentIdentificationOptions): AgentEvidence[] {
  const out: AgentEvidence[] = [];
  if (!event.errorCode && event.eventSource === 'iam.amazonaws.com' && (event.eventName === 'TagRole' || event.eventName === 'TagUser')) {
    const tags = list(event.record, 'requestParameters.tags');
    const hit = tagSetIsAgent(tags);
    const entity = event.eventName === 'TagRole' ? 'role' : 'user';
    const name = str(event.record, `requestParameters.${entity}Name`);
    if (hit && name) {
      const account = /^\d{12}$/.test(event.account) ? event.account : (str(event.record, 'userIdentity.accountId') ?? '');
      out.push({
        principal: `arn:${event.partition}:iam::${account}:${entity}/${name}`,
        how: 'declared',
        signals: [eventSignal(event), fieldSignal(event, `requestParameters.${entity}Name`), fieldSignal(event, `requestParameters.tags.${hit.index}.${hit.keyPath}`, 'declared by tag')],
      });
    }
  }
  if (!event.errorCode && event.eventSource === 'sts.amazonaws.com' && event.eventName === 'AssumeRole') {
    const hit = tagSetIsAgent(list(event.record, 'requestParameters.tags'));
    const role = str(event.record, 'requestParameters.roleArn');
    if (hit && role) {
      out.push({ ...principalOf(role), how: 'declared', signals: [eventSignal(event), fieldSignal(event, 'requestParameters.roleArn'), fieldSignal(event, `requestParameters.tags.${hit.index}.${hit.keyPath}`, 'session tag')] });
    }
  }
  if (caller && options.declared?.has(canonicalPrincipal(caller.arn)) && !isInteractiveSession(event)) {
    out.push({ principal: caller.arn, how: 'declared', signals: [signal(event, 'userIdentity', caller.arn, 'listed in the ai-visibility configuration')] });
  }
  return out;
}

function session(event: NormalizedEvent, caller: PrincipalObservation | undefined, options: AgentIdentificationOptions): AgentEvidence[] {
  if (!caller || isInteractiveSession(event) || (caller.type !== 'AssumedRole' && caller.type !== 'IAMUser' && caller.type !== 'WebIdentityUser')) return [];
  // A call an AWS service made on the principal's behalf says nothing about the principal's client.
  if (str(event.record, 'userIdentity.invokedBy')) return [];
  const marker = options.sessionMarker ?? DEFAULT_SESSION_MARKER;
  const framework = options.frameworkUserAgent ?? DEFAULT_FRAMEWORK_USER_AGENT;
  const signals: Signal[] = [];
  const sourceIdentity = str(event.record, 'userIdentity.sessionContext.sourceIdentity');
  if (sourceIdentity && marker.test(sourceIdentity)) signals.push(fieldSignal(event, 'userIdentity.sessionContext.sourceIdentity', 'source identity marks an agent'));
  const sessionName = /:assumed-role\/[^/]+\/(.+)$/.exec(str(event.record, 'userIdentity.arn') ?? '')?.[1];
  if (sessionName && marker.test(sessionName)) signals.push(fieldSignal(event, 'userIdentity.arn', 'role session name marks an agent'));
  const userAgent = str(event.record, 'userAgent');
  if (userAgent && framework.test(userAgent)) signals.push(fieldSignal(event, 'userAgent', 'agent framework'));
  const roleName = /:role\/(?:.*\/)?([^/]+)$/.exec(caller.arn)?.[1];
  if (roleName?.startsWith(BEDROCK_AGENT_ROLE_PREFIX)) {
    return [{ principal: caller.arn, how: 'constructed', signals: [signal(event, 'userIdentity.sessionContext.sessionIssuer.userName', roleName, 'default name of a Bedrock agent service role')] }];
  }
  return signals.length > 0 ? [{ principal: caller.arn, how: 'session', signals }] : [];
}

/**
 * The caller of any event, AI or not (classify records a principal only for the AI services),
 * with the role classify gave it when it did.
 */
export function callerOf(event: NormalizedEvent, c: Classification): PrincipalObservation | undefined {
  if (c.principal) return c.principal;
  const identified = identifyPrincipal(event);
  return identified ? { arn: identified.arn, ...(identified.iamArn ? { iamArn: identified.iamArn } : {}), type: identified.type, account: identified.account, role: identified.baseRole, signals: identified.signals } : undefined;
}

/** All the agent evidence one event carries. */
export function identifyAgents(event: NormalizedEvent, c: Classification, options: AgentIdentificationOptions = {}): AgentEvidence[] {
  const caller = callerOf(event, c);
  return [...constructed(event, c), ...declared(event, caller, options), ...session(event, caller, options)];
}

/** Lambda CreateFunction/UpdateFunctionConfiguration (versioned event names): a function's role. */
export function functionRoleOf(event: NormalizedEvent): FunctionRole | undefined {
  if (event.errorCode || event.eventSource !== 'lambda.amazonaws.com' || !/^(CreateFunction|UpdateFunctionConfiguration)/.test(event.eventName)) return undefined;
  const role = str(event.record, 'requestParameters.role') ?? str(event.record, 'responseElements.role');
  const functionArn = str(event.record, 'responseElements.functionArn');
  if (!role || !functionArn) return undefined;
  return {
    functionArn: functionArn.replace(/:\$LATEST$/, ''),
    role,
    signals: [eventSignal(event), fieldSignal(event, 'responseElements.functionArn'), fieldSignal(event, str(event.record, 'requestParameters.role') ? 'requestParameters.role' : 'responseElements.role')],
  };
}


/** A successful write to a service other than the AI services: the second half of the behaviour heuristic. */
export function isMutationElsewhere(event: NormalizedEvent): boolean {
  return !event.errorCode && !isReadOnly(event) && !AI_EVENT_SOURCES.has(event.eventSource);
}
