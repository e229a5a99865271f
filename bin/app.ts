/**
 * CDK app: `cdk deploy` (cdk.json runs it with tsx). Configuration comes from the
 * `ai-visibility` context (cdk.json, or -c ai-visibility='{...}'); cdk-nag's AwsSolutions
 * checks run on every synth and fail it on any unacknowledged finding.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AiVisibilityStack } from '../lib/stacks/ai-visibility-stack';
import { AiVisibilityMemberStack } from '../lib/stacks/member-stack';
import { ConfigError, readConfig, type AiVisibilityConfig } from '../lib/config';
import { captureRules } from '../lib/capture/patterns';

const app = new App();
let config: AiVisibilityConfig;
try {
  config = readConfig(app.node.tryGetContext('ai-visibility'));
} catch (error) {
  // A configuration mistake is the user's to fix: the list of problems, no stack trace.
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
new AiVisibilityStack(app, 'AiVisibility', {
  description: 'ai-visibility: inventory, findings and activity of AI workloads (capture, classify, store)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  config,
});
if (config.organization.enabled) {
  // The member template, deployable directly where the StackSet cannot reach (the management
  // account, organization.accounts): cdk deploy AiVisibilityMember --parameters HubEventBusArn=...
  new AiVisibilityMemberStack(app, 'AiVisibilityMember', {
    description: 'ai-visibility member: forwards AI activity to the hub and lets the hub act here (docs/organization.md)',
    tagPrefix: config.tagging.prefix,
    remediation: config.remediation.mode === 'on',
    securityHubExport: config.securityHubExport,
    rules: captureRules({ knownAiApplications: config.modelUse.knownAiApplications }),
  });
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
