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
 *
 * One trail per regional stack, logging that region only: each region's stack captures its own
 * region's events from its own default bus, so a single-region trail is what each needs, no data
 * event is logged (and charged) twice, and each region uses one of its trail quota. (A
 * multi-region trail must include global service events, CloudTrail refuses one without them;
 * one per regional stack would also log every region's data events once per stack.)
 *
 * Log files are encrypted with a customer-managed key. The key and the bucket let CloudTrail in
 * for this trail only (`aws:SourceArn`, and the key its CloudTrail encryption context): CloudTrail
 * User Guide, "Configure AWS KMS key policies for CloudTrail" and "Amazon S3 bucket policy for
 * CloudTrail".
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
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

/** CloudTrail trail names: 3-128 characters. */
const MAX_TRAIL_NAME = 128;

export class AiDataEventTrail extends Construct {
  readonly trail: cloudtrail.CfnTrail;
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  /** The trail's ARN (known before it exists: the conditions name it). */
  readonly trailArn: string;

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
    const stack = Stack.of(this);
    const trailName = `${stack.stackName}-ai-data-events`.slice(-MAX_TRAIL_NAME);
    this.trailArn = stack.formatArn({ service: 'cloudtrail', resource: 'trail', resourceName: trailName });
    const cloudtrailPrincipal = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    const thisTrail = { StringEquals: { 'aws:SourceArn': this.trailArn } };

    this.key = new kms.Key(this, 'Key', { description: 'ai-visibility data-event trail log files', enableKeyRotation: true, removalPolicy });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudTrailToEncryptLogs',
        principals: [cloudtrailPrincipal],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { ...thisTrail, StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': stack.formatArn({ service: 'cloudtrail', region: '*', resource: 'trail', resourceName: '*' }) } },
      }),
    );
    this.key.addToResourcePolicy(new iam.PolicyStatement({ sid: 'AllowCloudTrailToDescribeKey', principals: [cloudtrailPrincipal], actions: ['kms:DescribeKey'], resources: ['*'], conditions: thisTrail }));

    this.bucket.addToResourcePolicy(new iam.PolicyStatement({ sid: 'AWSCloudTrailAclCheck', principals: [cloudtrailPrincipal], actions: ['s3:GetBucketAcl'], resources: [this.bucket.bucketArn], conditions: thisTrail }));
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AWSCloudTrailWrite',
        principals: [cloudtrailPrincipal],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`AWSLogs/${stack.account}/*`)],
        conditions: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': this.trailArn } },
      }),
    );

    const cfn = new cloudtrail.CfnTrail(this, 'Trail', {
      trailName,
      isLogging: true,
      s3BucketName: this.bucket.bucketName,
      kmsKeyId: this.key.keyArn,
      isMultiRegionTrail: false,
      includeGlobalServiceEvents: false,
      enableLogFileValidation: true,
    });
    // CloudTrail checks the bucket policy when the trail is created.
    cfn.node.addDependency(this.bucket.policy!);
    this.trail = cfn;
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
