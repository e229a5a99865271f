/**
 * AiDataEventTrail (opt-in): a CloudTrail trail that logs only the AI data events, so they
 * reach EventBridge and the capture rules. Management events need no trail to reach
 * EventBridge; data events do (CloudTrail user guide, "Logging data events"). Without this
 * trail InvokeAgent, Retrieve, InvokeFlow, ApplyGuardrail, AgentCore invocations and model-file
 * uploads to S3 stay invisible.
 *
 * Advanced event selectors keep it to exactly those events: one selector per resource type
 * (CloudTrail accepts one resources.type per selector), and for S3 only object writes whose
 * key ends with a model-file suffix. The trail logs no management events, so it does not
 * double-bill the organization's existing trail. Cost: $0.10 per 100,000 data events
 * delivered, plus S3 storage (docs/capture.md has an estimate).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MODEL_FILE_SUFFIXES, S3_OBJECT_WRITE_EVENTS } from '../capture/patterns';

/** Data-event resource types of Bedrock and AgentCore (CloudTrail "Logging data events" table). */
export const AI_DATA_EVENT_RESOURCE_TYPES = [
  { type: 'AWS::Bedrock::AgentAlias', name: 'Bedrock agent invocations' },
  { type: 'AWS::Bedrock::KnowledgeBase', name: 'Bedrock knowledge base retrievals' },
  { type: 'AWS::Bedrock::FlowAlias', name: 'Bedrock flow invocations' },
  { type: 'AWS::Bedrock::Guardrail', name: 'Bedrock guardrail evaluations' },
  { type: 'AWS::BedrockAgentCore::Runtime', name: 'AgentCore runtime invocations' },
  { type: 'AWS::BedrockAgentCore::Gateway', name: 'AgentCore gateway invocations' },
] as const;

export interface AiDataEventTrailProps {
  /** Keep the log buckets when the stack is deleted. @default true */
  readonly retain?: boolean;
  /** Days to keep the trail's log files. @default 365 */
  readonly logFileRetentionDays?: number;
}

export class AiDataEventTrail extends Construct {
  readonly trail: cloudtrail.Trail;
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AiDataEventTrailProps = {}) {
    super(scope, id);
    const retain = props.retain ?? true;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(props.logFileRetentionDays ?? 365) }],
      removalPolicy,
      autoDeleteObjects: false,
    });
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the server access log bucket of the trail bucket; logging it to itself would loop.' });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'trail-bucket/',
      lifecycleRules: [{ expiration: Duration.days(props.logFileRetentionDays ?? 365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy,
    });
    this.trail = new cloudtrail.Trail(this, 'Trail', {
      bucket: this.bucket,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: false,
      enableFileValidation: true,
    });
    const cfn = this.trail.node.defaultChild as cloudtrail.CfnTrail;
    // Basic and advanced selectors exclude each other: drop the basic one the L2 writes.
    cfn.addPropertyDeletionOverride('EventSelectors');
    cfn.advancedEventSelectors = [
      ...AI_DATA_EVENT_RESOURCE_TYPES.map(({ type, name }) => ({
        name,
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: [type] },
        ],
      })),
      {
        name: 'S3 model file writes',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
          { field: 'eventName', equalTo: [...S3_OBJECT_WRITE_EVENTS] },
          { field: 'resources.ARN', endsWith: [...MODEL_FILE_SUFFIXES] },
        ],
      },
    ];
  }
}
