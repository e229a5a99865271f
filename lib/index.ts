/**
 * ai-visibility as a construct library: the whole stack, or its constructs composed into your
 * own stack (README, "Use it as a library"). Everything exported here is the public API; the
 * handlers the constructs deploy ship with the package and are bundled by esbuild at synth.
 */
export { AiVisibilityStack, STACK_TAG_KEY, type AiVisibilityStackProps } from './stacks/ai-visibility-stack';
export { AiVisibilityMemberStack, MEMBER_ROLE_NAME, FORWARD_RULE_PREFIX, type AiVisibilityMemberStackProps } from './stacks/member-stack';
export { DEFAULT_CONFIG, ConfigError, readConfig, scheduleProblem, LOG_RETENTION_DAYS, type AiVisibilityConfig, type OrganizationConfig, type StackSetOperationPreferences } from './config';
export { OrganizationHub, memberTemplate, TEMPLATE_BODY_LIMIT, type OrganizationHubProps } from './constructs/organization-hub';
export { captureRules, type CaptureRuleSpec, type EventPattern } from './capture/patterns';

export { AiActivityCapture, type AiActivityCaptureProps } from './constructs/ai-activity-capture';
export { AiActivityClassifier, CLASSIFIER_TIMEOUT, type AiActivityClassifierProps, type AgentSettingsProps } from './constructs/activity-classifier';
export { AgentActivityCapture, agentRulePrefix, type AgentActivityCaptureProps } from './constructs/agent-activity-capture';
export { AiDataEventTrail, AI_DATA_EVENT_RESOURCE_TYPES, type AiDataEventTrailProps } from './constructs/ai-data-event-trail';
export { AiInventoryTable, type AiInventoryTableProps } from './constructs/inventory-table';
export { ChangeFeed, type ChangeFeedProps } from './constructs/change-feed';
export { LineagePropagation, type LineagePropagationProps, type ClassificationProps } from './constructs/lineage-propagation';
export { GpuUtilizationSweep, DEFAULT_SWEEP_SCHEDULE, DEFAULT_SWEEP_MAX_CONCURRENCY, type GpuUtilizationSweepProps, type SweepThresholdsProps } from './constructs/gpu-utilization-sweep';
export { OperationsMonitoring, type OperationsMonitoringProps, type MonitoredFunction, type MonitoredQueue, type MonitoredRule } from './constructs/operations-monitoring';
export { AiVisibilityFunction, HOUSE_RUNTIME, type AiVisibilityFunctionProps, type HouseFunctionOptions } from './constructs/house-function';
export { houseQueue, type HouseQueueProps } from './constructs/house-queue';
