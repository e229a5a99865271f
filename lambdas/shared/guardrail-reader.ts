/**
 * Guardrail versions' filters over the SDK (bedrock:GetGuardrail), one client per account and
 * region, on a member's credentials in organization mode (its member role may GetGuardrail).
 * Any failure (a deleted version, a refusal, throttling after the SDK's retries) reads as
 * undefined and is logged: the comparison then leaves the finding as it was.
 */
import { BedrockClient, GetGuardrailCommand } from '@aws-sdk/client-bedrock';
import { guardrailFiltersOf, type GuardrailReader } from '../core/guardrails';
import type { MemberCredentials } from './member-credentials';
import { perPlace } from './tag-lookup';

export function awsGuardrailReader(options: { credentials?: MemberCredentials; log?: { warn(message: string, extra: Record<string, unknown>): void } } = {}, client?: (region: string | undefined, account: string | undefined) => Pick<BedrockClient, 'send'>): GuardrailReader {
  const clients = client ?? perPlace((o) => new BedrockClient(o), options.credentials);
  return async ({ account, region, guardrail, version }) => {
    try {
      const answer = await clients(region, account).send(new GetGuardrailCommand({ guardrailIdentifier: guardrail, guardrailVersion: version }));
      return guardrailFiltersOf(answer);
    } catch (error) {
      options.log?.warn('GetGuardrail failed', { guardrail, version, account, region, error: String(error) });
      return undefined;
    }
  };
}
