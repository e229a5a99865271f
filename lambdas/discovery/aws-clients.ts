/**
 * The listing's SDK clients for one region, with the credentials given (a member role's, in
 * organization mode; the SDK's default chain otherwise: the function's role, or a laptop's
 * profile). Its own module so the pure parts never load the SDK.
 */
import { BedrockClient } from '@aws-sdk/client-bedrock';
import { BedrockAgentClient } from '@aws-sdk/client-bedrock-agent';
import { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CredentialProvider } from '../shared/member-credentials';
import type { ListingClients } from './listers';

export function listingClients(region: string, auth: { credentials?: CredentialProvider; profile?: string } = {}): ListingClients {
  // The listing retries throttled calls itself (listing-kit.ts retrying); the SDK's own
  // standard retries stay on for transient network errors.
  const options = { region, ...(auth.credentials ? { credentials: auth.credentials } : {}), ...(auth.profile ? { profile: auth.profile } : {}) };
  return {
    bedrock: new BedrockClient(options),
    bedrockAgent: new BedrockAgentClient(options),
    agentCore: new BedrockAgentCoreControlClient(options),
    sagemaker: new SageMakerClient(options),
    ec2: new EC2Client(options),
  };
}
