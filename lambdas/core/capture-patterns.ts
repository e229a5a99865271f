/**
 * The capture rules, as data.
 *
 * One list of EventBridge rule definitions is read by two consumers: the `AiActivityCapture`
 * construct, which turns each entry into an `AWS::Events::Rule`, and the local replay, which
 * evaluates the very same patterns with `lambdas/shared/event-pattern.ts`. Keeping them here (no CDK
 * import) is what lets `npm start` show exactly what a deployed stack would have captured.
 *
 * docs/capture.md explains each rule, the read-only calls left out and why, and what it costs.
 */
import { AGENT_TAG_KEY, CLOUDTRAIL_API_CALL, CONTROL_TAGS, OWN_ROLE_PATH, PRINCIPAL_CONTROL_KEYS, SERVICE_STATE_EVENTS } from './constants';

export { AGENT_TAG_KEY, CLOUDTRAIL_API_CALL };

/** An EventBridge event pattern: plain JSON, as it appears in the template. */
export type EventPattern = { [key: string]: unknown };

export interface CaptureRuleSpec {
  /** Stable id: the construct id of the rule and the name the replay reports. */
  readonly id: string;
  readonly description: string;
  /**
   * Whether the rule must also see read-only management events (InvokeModel, Converse,
   * List*, Get*...). A plain ENABLED rule never receives them; the rule state
   * `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` does.
   */
  readonly includeReadOnlyManagementEvents: boolean;
  readonly pattern: EventPattern;
}

/**
 * Every role ai-visibility creates lives under OWN_ROLE_PATH. CloudTrail records the path in
 * `userIdentity.sessionContext.sessionIssuer.arn` (`arn:aws:iam::123456789012:role/ai-visibility/Name`),
 * so one wildcard keeps the stack's own calls (a tagger, the sweep) out of its own capture
 * rules: a tool triggered by CloudTrail must never re-trigger itself.
 */
export { OWN_ROLE_PATH };
export const OWN_ROLE_ARN_WILDCARD = `arn:aws*:iam::*:role${OWN_ROLE_PATH}*`;

/**
 * Instance families with GPUs or AI accelerators: p* and g* (NVIDIA/AMD GPUs, incl. Graviton
 * g5g/g6g... and gr6), inf* (Inferentia), trn* (Trainium), dl* (Gaudi dl1, Qualcomm dl2q).
 * EventBridge matches these as prefixes of the instance type; the classifier applies the
 * stricter regular expression `GPU_INSTANCE_TYPE` to the same field.
 */
export const GPU_FAMILY_PREFIXES = ['p', 'g', 'inf', 'trn', 'dl'] as const;

/**
 * Object-key suffixes that mark a model file (weights, checkpoints, serialized estimators).
 * `model.tar.gz` is the artifact name SageMaker training jobs write. `.pkl`/`.joblib` are
 * included because pickled models execute code on load, which makes them the riskiest model
 * files to see appear. The generic `.bin` is left out: it matches firmware, disk images and
 * arbitrary blobs far more often than model weights (docs/capture.md).
 */
export const MODEL_FILE_SUFFIXES = [
  '.safetensors',
  '.gguf',
  '.ggml',
  '.onnx',
  '.pt',
  '.pth',
  '.ckpt',
  '.h5',
  '.keras',
  '.tflite',
  '.mlmodel',
  '.joblib',
  '.pkl',
  '.pickle',
  'model.tar.gz',
] as const;

/** S3 object writes that create a model file. */
export const S3_OBJECT_WRITE_EVENTS = ['PutObject', 'CopyObject', 'CompleteMultipartUpload'] as const;

/** S3 bucket tag changes: users steer ai-visibility and declare data classification with tags. */
export const S3_BUCKET_TAG_EVENTS = ['PutBucketTagging', 'DeleteBucketTagging'] as const;

/**
 * High-volume read-only Bedrock calls: catalog browsing of the public model list, per-model
 * availability polling of the console's model-access page, and tag reads by AWS Config and the
 * console. The Bedrock rule leaves them out; the reconnaissance among them (MODEL_RECON_READS)
 * comes in through the ModelRecon rule, for the callers it names. Every other Bedrock call,
 * read-only or not, is captured (GetModelInvocationLoggingConfiguration, a known LLMjacking
 * reconnaissance step and a rare call, from everyone).
 */
export const BEDROCK_EXCLUDED_READ_ONLY = [
  'ListFoundationModels',
  'GetFoundationModel',
  'GetFoundationModelAvailability',
  'ListFoundationModelAgreementOffers',
  'GetUseCaseForModelAccess',
  'ListTagsForResource',
] as const;

/**
 * The reads that precede LLMjacking (Sysdig's and Permiso's write-ups, Prowler's
 * cloudtrail_threat_detection_llm_jacking): which models exist, which the account may use, which
 * offers and use-case forms stand. Captured by the ModelRecon rule only for callers that are not
 * known AI applications.
 */
export const MODEL_RECON_READS = ['ListFoundationModels', 'GetFoundationModelAvailability', 'ListFoundationModelAgreementOffers', 'GetUseCaseForModelAccess'] as const;

/** Reconnaissance as the classifier reads it: the ModelRecon rule's reads and the logging check the Bedrock rule brings in. */
export const MODEL_RECON_EVENTS: ReadonlySet<string> = new Set([...MODEL_RECON_READS, 'GetModelInvocationLoggingConfiguration']);

/** What shapes the capture rules: the deploy-time settings they depend on. */
export interface CaptureSettings {
  /**
   * Role ARN patterns (EventBridge wildcards: `*` is any run of characters) of known AI
   * applications: their reconnaissance reads are not captured. @default none
   */
  readonly knownAiApplications?: readonly string[];
}

/**
 * `userIdentity` of the callers whose reconnaissance is captured: IAM users and the root user,
 * anyone calling with a long-term access key (AKIA...), and role sessions of roles that are
 * neither ai-visibility's own nor a known AI application. AWS services (`AWSService`) are none of them.
 */
function reconCallers(knownAiApplications: readonly string[]): EventPattern {
  return {
    $or: [
      { type: ['IAMUser', 'Root'] },
      { accessKeyId: [{ prefix: 'AKIA' }] },
      { type: ['AssumedRole', 'FederatedUser'], sessionContext: { sessionIssuer: { arn: [{ 'anything-but': { wildcard: [OWN_ROLE_ARN_WILDCARD, ...knownAiApplications] } }] } } },
    ],
  };
}

/**
 * High-volume read-only SageMaker calls: the polling of SageMaker Studio (apps, spaces, domain,
 * user profile) and of SDK waiters (Describe* on jobs and endpoints while they run). The
 * resources they name are known from their Create* events.
 */
export const SAGEMAKER_EXCLUDED_READ_ONLY = [
  'DescribeApp',
  'ListApps',
  'DescribeSpace',
  'ListSpaces',
  'DescribeDomain',
  'DescribeUserProfile',
  'DescribeTrainingJob',
  'DescribeProcessingJob',
  'DescribeTransformJob',
  'DescribeEndpoint',
  'DescribeEndpointConfig',
  'DescribeModel',
  'DescribeNotebookInstance',
  'DescribeNotebookInstanceLifecycleConfig',
  'Search',
  'GetSagemakerServicecatalogPortfolioStatus',
] as const;

/**
 * AgentCore identity token vending, called on every agent invocation to fetch credentials for
 * a tool: very high volume, and the runtime/gateway events already show the activity.
 */
export const AGENTCORE_EXCLUDED = [
  'GetWorkloadAccessToken',
  'GetWorkloadAccessTokenForJWT',
  'GetWorkloadAccessTokenForUserId',
  'GetResourceOauth2Token',
  'GetResourceApiKey',
] as const;

/** `userIdentity` sub-pattern: anyone but ai-visibility's own roles. */
export function notOwnRoles(): EventPattern {
  return {
    $or: [
      { sessionContext: { sessionIssuer: { arn: [{ exists: false }] } } },
      { sessionContext: { sessionIssuer: { arn: [{ 'anything-but': { wildcard: OWN_ROLE_ARN_WILDCARD } }] } } },
    ],
  };
}

function gpuTypeMatchers(): Array<{ prefix: string }> {
  return GPU_FAMILY_PREFIXES.map((prefix) => ({ prefix }));
}

function cloudTrailPattern(source: string, detail: EventPattern): EventPattern {
  return {
    source: [source],
    'detail-type': [CLOUDTRAIL_API_CALL],
    detail: { ...detail, userIdentity: notOwnRoles() },
  };
}

/** The capture rules of the stack, in the order they are created. */
export function captureRules(settings: CaptureSettings = {}): CaptureRuleSpec[] {
  const gpu = gpuTypeMatchers();
  return [
    {
      id: 'Bedrock',
      description:
        'Amazon Bedrock control and runtime calls (models, customization, provisioned throughput, inference profiles, guardrails, agents, knowledge bases, flows, invocation logging), read-only ones included',
      includeReadOnlyManagementEvents: true,
      pattern: cloudTrailPattern('aws.bedrock', {
        eventSource: ['bedrock.amazonaws.com'],
        eventName: [{ 'anything-but': [...BEDROCK_EXCLUDED_READ_ONLY] }],
      }),
    },
    {
      id: 'ModelRecon',
      description: 'Bedrock model reconnaissance (ListFoundationModels, GetFoundationModelAvailability, ListFoundationModelAgreementOffers, GetUseCaseForModelAccess) by IAM users, long-term keys and roles that are not known AI applications',
      includeReadOnlyManagementEvents: true,
      pattern: {
        source: ['aws.bedrock'],
        'detail-type': [CLOUDTRAIL_API_CALL],
        detail: { eventSource: ['bedrock.amazonaws.com'], eventName: [...MODEL_RECON_READS], userIdentity: reconCallers(settings.knownAiApplications ?? []) },
      },
    },
    {
      id: 'BedrockJobStates',
      description: 'Amazon Bedrock model customization job state changes (not CloudTrail): they name the custom model a job produced, for lineage',
      includeReadOnlyManagementEvents: false,
      pattern: { source: ['aws.bedrock'], 'detail-type': Object.keys(SERVICE_STATE_EVENTS).filter((t) => SERVICE_STATE_EVENTS[t].source === 'aws.bedrock') },
    },
    {
      id: 'AgentCore',
      description: 'Amazon Bedrock AgentCore runtimes, gateways, memory and tools',
      includeReadOnlyManagementEvents: true,
      pattern: cloudTrailPattern('aws.bedrock-agentcore', {
        eventSource: ['bedrock-agentcore.amazonaws.com'],
        eventName: [{ 'anything-but': [...AGENTCORE_EXCLUDED] }],
      }),
    },
    {
      id: 'SageMaker',
      description: 'Amazon SageMaker AI notebooks, jobs, models, endpoints',
      includeReadOnlyManagementEvents: true,
      pattern: cloudTrailPattern('aws.sagemaker', {
        eventSource: ['sagemaker.amazonaws.com'],
        eventName: [{ 'anything-but': [...SAGEMAKER_EXCLUDED_READ_ONLY] }],
      }),
    },
    {
      id: 'GpuInstances',
      description:
        'EC2 launches of GPU/accelerator instances (type in the request or the response, refused launches included), state changes of instances, and their control tags',
      includeReadOnlyManagementEvents: false,
      pattern: cloudTrailPattern('aws.ec2', {
        eventSource: ['ec2.amazonaws.com'],
        $or: [
          { eventName: ['RunInstances'], requestParameters: { instanceType: gpu } },
          // Some exporters (and the EC2 query API serializer) wrap scalars as {"value": ...}.
          { eventName: ['RunInstances'], requestParameters: { instanceType: { value: gpu } } },
          // Launch-template launches carry the type only in the response.
          { eventName: ['RunInstances'], responseElements: { instancesSet: { items: { instanceType: gpu } } } },
          { eventName: ['RequestSpotInstances'], requestParameters: { launchSpecification: { instanceType: gpu } } },
          {
            eventName: ['CreateFleet'],
            requestParameters: { CreateFleetRequest: { LaunchTemplateConfigs: { Overrides: { InstanceType: gpu } } } },
          },
          {
            eventName: ['CreateFleet'],
            responseElements: { CreateFleetResponse: { fleetInstanceSet: { item: { instanceType: gpu } } } },
          },
          // Start/Stop/Terminate name only instance ids: the classifier updates the ones the
          // inventory already knows as GPU instances and ignores the rest.
          { eventName: ['StartInstances', 'StopInstances', 'TerminateInstances'] },
          // A control tag (owner, ignore, expected-idle, idle-action) set or removed after launch: the same, for the instances.
          { eventName: ['CreateTags', 'DeleteTags'], requestParameters: { tagSet: { items: { key: CONTROL_TAGS.map((t) => t.key) } } } },
        ],
      }),
    },
    {
      id: 'ModelAgreements',
      description: 'AWS Marketplace agreements accepted: how third-party Bedrock models are subscribed (us-east-1 only, as the Agreement API is)',
      includeReadOnlyManagementEvents: false,
      // The Marketplace services' CloudTrail events come as aws.<service> with <service>.amazonaws.com
      // (EventBridge events reference: aws.deployment-marketplace, aws.discovery-marketplace).
      pattern: cloudTrailPattern('aws.agreement-marketplace', {
        eventSource: ['agreement-marketplace.amazonaws.com'],
        eventName: ['AcceptAgreementRequest'],
      }),
    },
    {
      id: 'LambdaFunctions',
      description: "Lambda function creation and configuration changes: the execution roles of AI agents' action-group tools",
      includeReadOnlyManagementEvents: false,
      pattern: cloudTrailPattern('aws.lambda', {
        eventSource: ['lambda.amazonaws.com'],
        // CloudTrail names Lambda events with their API version: CreateFunction20150331, ...
        eventName: [{ prefix: 'CreateFunction' }, { prefix: 'UpdateFunctionConfiguration' }],
      }),
    },
    {
      id: 'AgentDeclarations',
      description: 'IAM roles and users tagged ai-visibility:agent (and role sessions assumed with that tag), and their ai-visibility:owner and ignore tags set or removed',
      // Tagged AssumeRole calls are rare; read-only or not, they must arrive.
      includeReadOnlyManagementEvents: true,
      pattern: {
        source: ['aws.iam', 'aws.sts'],
        'detail-type': [CLOUDTRAIL_API_CALL],
        detail: {
          eventSource: ['iam.amazonaws.com', 'sts.amazonaws.com'],
          userIdentity: notOwnRoles(),
          $or: [
            { eventName: ['TagRole', 'TagUser', 'AssumeRole'], requestParameters: { tags: { key: [{ 'equals-ignore-case': AGENT_TAG_KEY }] } } },
            // A principal's owner routes the findings of what it does when the resource has none
            // (docs/notifications.md); its ignore tag silences them (docs/tagging.md). The keys are
            // matched as written, as on every other resource.
            { eventName: ['TagRole', 'TagUser', 'CreateRole', 'CreateUser'], requestParameters: { tags: { key: [...PRINCIPAL_CONTROL_KEYS] } } },
            { eventName: ['UntagRole', 'UntagUser'], requestParameters: { tagKeys: [...PRINCIPAL_CONTROL_KEYS] } },
          ],
        },
      },
    },
    {
      id: 'BedrockApiKeys',
      description: 'Long-term Bedrock API keys (IAM service-specific credentials for bedrock.amazonaws.com) created, and service-specific credentials updated, reset or deleted',
      includeReadOnlyManagementEvents: false,
      pattern: {
        source: ['aws.iam'],
        'detail-type': [CLOUDTRAIL_API_CALL],
        detail: {
          eventSource: ['iam.amazonaws.com'],
          userIdentity: notOwnRoles(),
          $or: [
            { eventName: ['CreateServiceSpecificCredential'], requestParameters: { serviceName: ['bedrock.amazonaws.com'] } },
            // These name no service: the classifier changes only keys the inventory knows (rare calls).
            { eventName: ['UpdateServiceSpecificCredential', 'ResetServiceSpecificCredential', 'DeleteServiceSpecificCredential'] },
          ],
        },
      },
    },
    {
      id: 'ModelArtifacts',
      description: 'S3 writes of model files (data events, need a trail that logs them) and bucket tag changes',
      includeReadOnlyManagementEvents: false,
      pattern: cloudTrailPattern('aws.s3', {
        eventSource: ['s3.amazonaws.com'],
        $or: [
          {
            eventName: [...S3_OBJECT_WRITE_EVENTS],
            requestParameters: { key: MODEL_FILE_SUFFIXES.map((s) => ({ suffix: { 'equals-ignore-case': s } })) },
          },
          { eventName: [...S3_BUCKET_TAG_EVENTS] },
        ],
      }),
    },
  ];
}

/**
 * GuardDuty AI Protection's finding types (GuardDuty User Guide, "GuardDuty AI Protection finding
 * types"): their `resource.modelDetails` names the invoked models, `bedrockGuardrailDetails` the
 * guardrail that intervened.
 */
export const GUARDDUTY_AI_FINDING_TYPES = ['Impact:IAMUser/AnomalousModelInvocation', 'Impact:IAMUser/CostHarvesting', 'Impact:IAMUser/PromptInjection.Direct'] as const;

/**
 * The opt-in rule on GuardDuty's findings (config `guardDutyAiFindings`): the AI Protection types,
 * and any finding that names Bedrock or SageMaker models or a Bedrock guardrail. GuardDuty
 * publishes findings to the default bus of its (administrator) account, so the rule is created
 * there even in organization mode.
 */
export function guardDutyAiRule(): CaptureRuleSpec {
  return {
    id: 'GuardDutyAiFindings',
    description: 'GuardDuty findings about AI workloads (AI Protection types, or naming models or guardrails), to corroborate and join them to the inventory',
    includeReadOnlyManagementEvents: false,
    pattern: {
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      detail: {
        $or: [
          { type: [...GUARDDUTY_AI_FINDING_TYPES] },
          { resource: { modelDetails: { modelId: [{ exists: true }] } } },
          { resource: { bedrockGuardrailDetails: { guardrailAction: [{ exists: true }] } } },
        ],
      },
    },
  };
}
