/**
 * Amazon Bedrock AgentCore (`bedrock-agentcore.amazonaws.com`): agent runtimes and gateways.
 *
 * Control-plane calls are management events; InvokeAgentRuntime and InvokeGateway are data
 * events (opt-in trail). Gateway data events are made by callers authenticated with a JWT, not
 * IAM: `userIdentity.accountId` is `anonymous` and the caller is in
 * `additionalEventData.jwt.claims` (AgentCore developer guide, "Understanding gateway
 * CloudTrail log entries"); the status of the call is `responseElements.statusCode`.
 */
import { agentCoreArn, arnOrBuild, kindOfArn } from '../../core/arn';
import type { Collector } from '../collector';
import { eventSignal, fieldSignal, firstString, signal, str } from '../evidence';
import type { ResourceKind } from '../../core/model';
import type { Rule } from './bedrock';

function target(
  c: Collector,
  kind: ResourceKind,
  arnType: string,
  responseArnPaths: readonly string[],
  requestIdPaths: readonly string[],
) {
  const found = firstString(c.event, responseArnPaths) ?? firstString(c.event, requestIdPaths);
  if (!found) return undefined;
  const arn = arnOrBuild(found.value, (id) => agentCoreArn(c.event, arnType, id));
  return { arn: kindOfArn(arn)?.arn ?? arn, signal: signal(c.event, found.path, found.value), kind };
}

function gateway(c: Collector): void {
  const t = target(c, 'agent-gateway', 'gateway', ['responseElements.gatewayArn'], ['requestParameters.gatewayIdentifier']);
  if (!t) return;
  const deleting = c.event.eventName === 'DeleteGateway';
  const authorizerType = str(c.event.record, 'requestParameters.authorizerType') ?? str(c.event.record, 'responseElements.authorizerType');
  c.resource('agent-gateway', t.arn, {
    status: deleting ? 'deleted' : 'active',
    signals: [eventSignal(c.event), t.signal],
    attributes: deleting
      ? {}
      : {
          protocolType: str(c.event.record, 'requestParameters.protocolType'),
          authorizerType,
          roleArn: str(c.event.record, 'requestParameters.roleArn'),
          gatewayUrl: str(c.event.record, 'responseElements.gatewayUrl'),
        },
  });
  if (!deleting && authorizerType === 'NONE') {
    c.finding('agent-gateway-without-authorizer', {
      resource: t.arn,
      summary: `Gateway ${t.arn} accepts tool calls without authentication (authorizerType NONE): anyone who finds its URL can drive the tools behind it.`,
      signals: [eventSignal(c.event), fieldSignal(c.event, str(c.event.record, 'requestParameters.authorizerType') ? 'requestParameters.authorizerType' : 'responseElements.authorizerType')],
    });
  }
}

function runtime(c: Collector): void {
  const t = target(c, 'agent-runtime', 'runtime', ['responseElements.agentRuntimeArn'], ['requestParameters.agentRuntimeArn', 'requestParameters.agentRuntimeId']);
  if (!t) return;
  const deleting = c.event.eventName === 'DeleteAgentRuntime';
  c.resource('agent-runtime', t.arn, {
    status: deleting ? 'deleted' : 'active',
    signals: [eventSignal(c.event), t.signal],
    attributes: deleting
      ? {}
      : {
          agentRuntimeName: str(c.event.record, 'requestParameters.agentRuntimeName'),
          roleArn: str(c.event.record, 'requestParameters.roleArn'),
          networkMode: str(c.event.record, 'requestParameters.networkConfiguration.networkMode'),
        },
  });
}

export const AGENTCORE_RULES: Record<string, Rule> = {
  CreateGateway: gateway,
  UpdateGateway: gateway,
  DeleteGateway: gateway,
  CreateGatewayTarget: gateway,
  UpdateGatewayTarget: gateway,
  CreateAgentRuntime: runtime,
  UpdateAgentRuntime: runtime,
  DeleteAgentRuntime: runtime,
  InvokeAgentRuntime: (c) => {
    runtime(c);
    c.invokesModel(eventSignal(c.event, 'invokes an agent runtime'));
  },
};
