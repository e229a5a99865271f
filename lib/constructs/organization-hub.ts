/**
 * OrganizationHub: what organization mode adds to the hub stack (docs/organization.md).
 *
 * - **The central bus**, which every member's forwarding rules send to. Its policy allows
 *   `events:PutEvents` only from principals of the organization (`aws:PrincipalOrgID`), in one
 *   statement, whatever the number of accounts: far below the 10 KB a bus policy may hold, and
 *   an account that leaves the organization is refused without a redeploy.
 * - **A service-managed StackSet** of the member template (lib/stacks/member-stack.ts) for the
 *   configured OUs and regions, with automatic deployment to accounts that join them and removal
 *   from accounts that leave. `CfnStackSet` with the member template inline (`TemplateBody`,
 *   at most 51,200 bytes), rather than cdklabs' cdk-stacksets: the member template has no Lambda
 *   or other asset, so the asset buckets cdk-stacksets provisions in every region would be cost
 *   and surface for nothing, and it adds no dependency. StackSets never deploy to the management
 *   account: it gets the same template as the `AiVisibilityMember` stack of this app, deployed
 *   directly (README).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnStackSet, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { OrganizationConfig } from '../config';
import { AiVisibilityMemberStack, type AiVisibilityMemberStackProps } from '../stacks/member-stack';

/** CloudFormation's limit on an inline template (CreateStackSet, TemplateBody). */
export const TEMPLATE_BODY_LIMIT = 51_200;

export interface OrganizationHubProps {
  readonly organization: OrganizationConfig;
  /** What the member role may do (the tagger's prefix, remediation, the Security Hub export). */
  readonly member: Omit<AiVisibilityMemberStackProps, keyof import('aws-cdk-lib').StackProps>;
}

/** The member template, synthesized apart from any app (environment-agnostic: a StackSet deploys it everywhere). */
export function memberTemplate(props: AiVisibilityMemberStackProps = {}): Record<string, unknown> {
  // Its own app, synthesized into a directory of its own that is removed after.
  const outdir = mkdtempSync(join(tmpdir(), 'ai-visibility-member-'));
  try {
    const app = new App({ analyticsReporting: false, outdir });
    // No bootstrap-version check: member accounts are not CDK-bootstrapped (the parameter it reads would not exist there).
    const stack = new AiVisibilityMemberStack(app, 'AiVisibilityMember', { ...props, synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) });
    return app.synth().getStackArtifact(stack.artifactId).template as Record<string, unknown>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export class OrganizationHub extends Construct {
  readonly eventBus: events.EventBus;
  /** The same bus by its literal name (rule ARNs and cdk-nag ids are built from it): rules on it must depend on `eventBus`. */
  readonly eventBusByName: events.IEventBus;
  readonly stackSet: CfnStackSet;

  constructor(scope: Construct, id: string, props: OrganizationHubProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const org = props.organization;
    const busName = `${stack.stackName}-organization`;
    this.eventBus = new events.EventBus(this, 'Bus', { eventBusName: busName, description: 'ai-visibility: AI activity forwarded from every account and region of the organization' });
    this.eventBusByName = events.EventBus.fromEventBusAttributes(this, 'BusByName', { eventBusName: busName, eventBusArn: this.eventBus.eventBusArn, eventBusPolicy: '' });
    new events.CfnEventBusPolicy(this, 'OrganizationPutEvents', {
      eventBusName: this.eventBus.eventBusName,
      statementId: 'OrganizationMembersPutEvents',
      statement: {
        Sid: 'OrganizationMembersPutEvents',
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: this.eventBus.eventBusArn,
        Condition: { StringEquals: { 'aws:PrincipalOrgID': org.organizationId } },
      },
    });

    const globalRegion = org.regions.includes('us-east-1') ? 'us-east-1' : org.regions[0];
    const body = JSON.stringify(memberTemplate(props.member));
    if (Buffer.byteLength(body) > TEMPLATE_BODY_LIMIT) {
      throw new Error(`the member template is ${Buffer.byteLength(body)} bytes; a StackSet takes at most ${TEMPLATE_BODY_LIMIT} inline (fewer capture rules, or a template in S3)`);
    }
    const p = org.stackSetOperationPreferences;
    this.stackSet = new CfnStackSet(this, 'Members', {
      stackSetName: `${stack.stackName}-members`,
      description: 'ai-visibility members: forwarding rules to the hub bus and the member role, in every account and region of the OUs',
      permissionModel: 'SERVICE_MANAGED',
      // New accounts of the OUs get it; an account that leaves loses it.
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: org.delegatedAdmin ? 'DELEGATED_ADMIN' : 'SELF',
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: {
        failureTolerancePercentage: p.failureTolerancePercentage,
        maxConcurrentPercentage: p.maxConcurrentPercentage,
        regionConcurrencyType: p.regionConcurrencyType,
        // The global region first: it creates the member role the other regions' work relies on.
        regionOrder: [globalRegion, ...org.regions.filter((r) => r !== globalRegion)],
      },
      parameters: [
        { parameterKey: 'HubEventBusArn', parameterValue: this.eventBus.eventBusArn },
        { parameterKey: 'HubAccountId', parameterValue: stack.account },
        { parameterKey: 'OrganizationId', parameterValue: org.organizationId },
        { parameterKey: 'GlobalRegion', parameterValue: globalRegion },
      ],
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: [...org.memberOus] }, regions: [...org.regions] }],
      templateBody: body,
    });
  }
}
