/**
 * The ai-visibility stack: deploy into the security account. Thin: it reads the configuration
 * and composes the feature constructs, event -> queue -> classifier -> inventory.
 */
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Tags, Token, type CfnResource, type StackProps } from 'aws-cdk-lib';
import { TAG_PREFIX } from '../../lambdas/core/constants';
import * as events from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import { DEFAULT_CONFIG, type AiVisibilityConfig } from '../config';
import { captureRules, guardDutyAiRule } from '../capture/patterns';
import { AiActivityCapture } from '../constructs/ai-activity-capture';
import { AiActivityClassifier, CLASSIFIER_TIMEOUT } from '../constructs/activity-classifier';
import { AgentActivityCapture } from '../constructs/agent-activity-capture';
import { AiDataEventTrail } from '../constructs/ai-data-event-trail';
import { AiInventoryTable } from '../constructs/inventory-table';
import { ChangeFeed } from '../constructs/change-feed';
import { LineagePropagation } from '../constructs/lineage-propagation';
import { GpuUtilizationSweep } from '../constructs/gpu-utilization-sweep';
import { AiDiscovery } from '../constructs/ai-discovery';
import { BACKFILL_SERVICE, HistoryImport } from '../constructs/history-import';
import { LookupHistoryImport } from '../constructs/lookup-history-import';
import { DISCOVERY_SERVICE, LOOKUP_HISTORY_SERVICE } from '../../lambdas/discovery/environment';
import { OperationsMonitoring } from '../constructs/operations-monitoring';
import { FindingNotifications } from '../constructs/finding-notifications';
import { SecurityHubExport } from '../constructs/security-hub-export';
import { AgentTrailReader } from '../constructs/agent-trail-reader';
import { TRAIL_READER_SERVICE } from '../../lambdas/trail-reader/environment';
import { ResourceTagger } from '../constructs/resource-tagger';
import { OrganizationHub } from '../constructs/organization-hub';
import { TAGGER_SERVICE } from '../../lambdas/tagger/environment';
import { SECURITY_HUB_EXPORT_SERVICE } from '../../lambdas/security-hub-export/environment';
import { NOTIFIER_SERVICE } from '../../lambdas/notifier/environment';
import { AGENT_CAPTURE_SYNC_SERVICE } from '../../lambdas/agent-capture-sync/environment';
import { CHANGE_FEED_SERVICE } from '../../lambdas/change-feed/environment';
import { CLASSIFIER_SERVICE } from '../../lambdas/classifier/environment';
import { GPU_SWEEP_SERVICE } from '../../lambdas/gpu-sweep/environment';
import { LINEAGE_PROPAGATOR_SERVICE } from '../../lambdas/lineage-propagator/environment';

/** The tag on every resource of a deployment: its stack name. */
export const STACK_TAG_KEY = `${TAG_PREFIX}stack`;

export interface AiVisibilityStackProps extends StackProps {
  readonly config?: AiVisibilityConfig;
}

export class AiVisibilityStack extends Stack {
  readonly inventory: AiInventoryTable;
  readonly capture: AiActivityCapture;
  readonly classifier: AiActivityClassifier;
  readonly agentCapture: AgentActivityCapture;
  readonly lineage: LineagePropagation;
  readonly gpuSweep: GpuUtilizationSweep;
  readonly discovery?: AiDiscovery;
  readonly historyImport?: HistoryImport;
  readonly lookupHistory?: LookupHistoryImport;
  /** The bus the domain events are published on. */
  readonly domainEvents: events.EventBus;
  readonly changeFeed: ChangeFeed;
  readonly dataEventTrail?: AiDataEventTrail;
  readonly operations: OperationsMonitoring;
  readonly notifications: FindingNotifications;
  readonly securityHubExport?: SecurityHubExport;
  readonly trailReader?: AgentTrailReader;
  readonly tagger?: ResourceTagger;
  /** Organization mode: the central bus and the members' StackSet. */
  readonly organization?: OrganizationHub;

  constructor(scope: Construct, id: string, props: AiVisibilityStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? DEFAULT_CONFIG;
    // Every resource the stack creates carries the stack's name, and the user's own tags.
    Tags.of(this).add(STACK_TAG_KEY, this.stackName);
    for (const [key, value] of Object.entries(config.resourceTags)) Tags.of(this).add(key, value);

    const functions = {
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      sourceMaps: config.lambdaSourceMaps,
    };

    this.inventory = new AiInventoryTable(this, 'Inventory', { retain: config.retainData });
    if (config.organization.enabled) {
      const home = config.organization.homeRegion;
      if (home && !Token.isUnresolved(this.region) && this.region !== home) throw new Error(`organization.homeRegion is ${home}, but this stack is deployed to ${this.region}: deploy the hub to its home region`);
      this.organization = new OrganizationHub(this, 'Organization', {
        organization: config.organization,
        member: { tagPrefix: config.tagging.prefix, remediation: config.remediation.mode === 'on', securityHubExport: config.securityHubExport, rules: captureRules({ knownAiApplications: config.modelUse.knownAiApplications }) },
      });
    }
    this.capture = new AiActivityCapture(this, 'Capture', {
      // Organization mode: every account's activity, the hub's own included, comes forwarded to the central bus.
      ...(this.organization ? { eventBus: this.organization.eventBusByName } : {}),
      visibilityTimeout: Duration.seconds(CLASSIFIER_TIMEOUT.toSeconds() * 6),
      maxReceiveCount: config.maxReceiveCount,
      retainKey: config.retainData,
      rules: captureRules({ knownAiApplications: config.modelUse.knownAiApplications }),
      // GuardDuty publishes to its (administrator) account's default bus, in each region.
      defaultBusRules: config.guardDutyAiFindings ? [guardDutyAiRule()] : [],
    });
    if (this.organization) for (const rule of this.capture.rules) rule.addResourceDependency(this.organization.eventBus.node.defaultChild as CfnResource);
    const encryptionKey = this.capture.key;
    this.lineage = new LineagePropagation(this, 'Lineage', {
      ...functions,
      encryptionKey,
      inventory: this.inventory,
      maxReceiveCount: config.maxReceiveCount,
      classification: { tagKey: config.classificationTagKey, levels: config.classificationLevels, sensitiveFrom: config.sensitiveFromLevel },
      ...(config.organization.enabled ? { organizationId: config.organization.organizationId } : {}),
    });
    this.classifier = new AiActivityClassifier(this, 'Classifier', {
      ...functions,
      encryptionKey,
      queue: this.capture.queue,
      inventory: this.inventory,
      batchSize: config.classifierBatchSize,
      maxBatchingWindow: Duration.seconds(config.classifierMaxBatchingWindowSeconds),
      maxConcurrency: config.classifierMaxConcurrency,
      agents: {
        principals: config.agentPrincipals,
        behaviourWindow: Duration.seconds(config.agentBehaviourWindowSeconds),
        deniedBurstCount: config.agentDeniedBurstCount,
        deniedBurstWindow: Duration.seconds(config.agentDeniedBurstSeconds),
        ledgerRetentionDays: config.actionLedgerRetentionDays,
      },
      modelUse: config.modelUse,
      lineage: this.lineage,
      ...(config.organization.enabled ? { organizationId: config.organization.organizationId } : {}),
    });
    // The stack's own bus for domain events: subscribers' rules go here, not on the default bus.
    this.domainEvents = new events.EventBus(this, 'DomainEvents', { description: 'ai-visibility domain events: findings recorded, resources inventoried and changed, agents identified' });
    this.changeFeed = new ChangeFeed(this, 'ChangeFeed', { ...functions, encryptionKey, inventory: this.inventory, eventBus: this.domainEvents, ...(config.organization.enabled ? { organizationId: config.organization.organizationId } : {}) });
    this.agentCapture = new AgentActivityCapture(this, 'AgentCapture', {
      ...functions,
      encryptionKey,
      inventory: this.inventory,
      capture: this.capture,
      domainEvents: this.domainEvents,
      eventPatternQuota: config.eventPatternQuota,
      maxReceiveCount: config.maxReceiveCount,
    });
    const { agentTrail } = config;
    if (agentTrail.bucketName) {
      const organizationTrail = agentTrail.organizationTrail ?? config.organization.enabled;
      this.trailReader = new AgentTrailReader(this, 'TrailReader', {
        ...functions,
        encryptionKey,
        inventory: this.inventory,
        domainEvents: this.domainEvents,
        captureQueue: this.capture.queue,
        trail: { ...agentTrail, bucketName: agentTrail.bucketName },
        ...(organizationTrail ? { organizationId: config.organization.organizationId } : {}),
        maxReceiveCount: config.maxReceiveCount,
      });
      // Past activity from the same archive: started by hand (or `ai-visibility backfill`), never on a schedule.
      this.historyImport = new HistoryImport(this, 'HistoryImport', {
        ...functions,
        encryptionKey,
        inventory: this.inventory,
        captureQueue: this.capture.queue,
        trail: { ...agentTrail, bucketName: agentTrail.bucketName },
        ...(organizationTrail ? { organizationId: config.organization.organizationId } : {}),
      });
    } else if (config.organization.enabled) {
      Annotations.of(this).addWarning(
        "organization mode without agentTrail: an agent is followed only in this account (the agent capture rules); set agentTrail.bucketName to the organization trail's bucket to follow agents in every member account and region, from their first action (docs/agents.md)",
      );
    }
    this.gpuSweep = new GpuUtilizationSweep(this, 'GpuSweep', {
      ...functions,
      encryptionKey,
      inventory: this.inventory,
      schedule: config.sweepSchedule,
      windowMinutes: config.sweepWindowMinutes,
      maxConcurrency: config.sweepMaxConcurrency,
      regions: config.sweepRegions,
      thresholds: { idleBelowPct: config.gpuIdleBelowPct, underutilizedBelowPct: config.gpuUnderutilizedBelowPct, memoryHeldFromPct: config.gpuMemoryHeldFromPct },
      prices: config.gpuPrices,
      remediation: config.remediation,
      ...(config.organization.enabled ? { organization: { organizationId: config.organization.organizationId, regions: config.organization.regions } } : {}),
    });
    if (config.discovery.enabled) {
      this.discovery = new AiDiscovery(this, 'Discovery', {
        ...functions,
        encryptionKey,
        inventory: this.inventory,
        lineage: this.lineage,
        schedule: config.discovery.schedule,
        afterDeploy: config.discovery.afterDeploy,
        maxConcurrency: config.discovery.maxConcurrency,
        regions: config.discovery.regions,
        ...(config.organization.enabled ? { organization: { organizationId: config.organization.organizationId, regions: config.organization.regions } } : {}),
      });
      // Past activity from event history, for the account-regions discovery lists: on creation, and by hand.
      if (config.discovery.lookupHistory) {
        this.lookupHistory = new LookupHistoryImport(this, 'LookupHistory', {
          ...functions,
          encryptionKey,
          captureQueue: this.capture.queue,
          regions: config.discovery.regions,
          ...(config.organization.enabled ? { organization: { organizationId: config.organization.organizationId, regions: config.organization.regions } } : {}),
        });
      }
    }
    if (config.dataEventTrail) {
      this.dataEventTrail = new AiDataEventTrail(this, 'DataEventTrail', { retain: config.retainData });
    }

    this.notifications = new FindingNotifications(this, 'Notifications', {
      ...functions,
      encryptionKey,
      inventory: this.inventory,
      domainEvents: this.domainEvents,
      minSeverity: config.notifications.minSeverity,
      dedupWindowHours: config.notifications.dedupWindowHours,
      subscriptions: config.notifications.subscriptions,
      accountOwners: config.notifications.accountOwners,
      maxReceiveCount: config.maxReceiveCount,
      digest: config.notifications.digest.enabled,
      digestSchedule: config.notifications.digest.schedule,
      digestApiKeyMaxAgeDays: config.notifications.digest.apiKeyMaxAgeDays,
      deadLetterQueues: {
        capture: this.capture.deadLetterQueue,
        lineage: this.lineage.deadLetterQueue,
        'agent-sync': this.agentCapture.deadLetterQueue,
        'change-feed-failures': this.changeFeed.function.deadLetterQueue!,
        'sweep-schedule': this.gpuSweep.scheduleDeadLetterQueue,
        ...(this.discovery ? { 'discovery-schedule': this.discovery.scheduleDeadLetterQueue } : {}),
      },
    });

    if (config.securityHubExport) {
      this.securityHubExport = new SecurityHubExport(this, 'SecurityHubExport', { ...functions, encryptionKey, inventory: this.inventory, domainEvents: this.domainEvents, maxReceiveCount: config.maxReceiveCount, ...(config.organization.enabled ? { organizationId: config.organization.organizationId } : {}) });
    }

    if (config.tagging.enabled) {
      this.tagger = new ResourceTagger(this, 'Tagger', { ...functions, encryptionKey, inventory: this.inventory, domainEvents: this.domainEvents, prefix: config.tagging.prefix, exclude: config.tagging.exclude, maxReceiveCount: config.maxReceiveCount, ...(config.organization.enabled ? { organizationId: config.organization.organizationId } : {}) });
    }

    const redrive = 'Inspect the messages, fix the cause, then move them back with the SQS console\'s "Start DLQ redrive" (or aws sqs start-message-move-task).';
    this.operations = new OperationsMonitoring(this, 'Operations', {
      encryptionKey,
      emails: config.alarmEmails,
      functions: [
        { function: this.classifier.function, service: CLASSIFIER_SERVICE, impact: 'captured events are not classified' },
        { function: this.lineage.function, service: LINEAGE_PROPAGATOR_SERVICE, impact: 'data sensitivity is not carried down the lineage graph' },
        { function: this.changeFeed.function, service: CHANGE_FEED_SERVICE, impact: 'no domain events (findings, inventory changes) are published', streamReader: true },
        { function: this.agentCapture.function, service: AGENT_CAPTURE_SYNC_SERVICE, impact: 'new agents are not followed' },
        { function: this.gpuSweep.function, service: `${GPU_SWEEP_SERVICE}-plan`, impact: 'GPU sweeps are not planned or summarized' },
        { function: this.gpuSweep.targetFunction, service: `${GPU_SWEEP_SERVICE}-target`, impact: 'GPUs are not swept' },
        { function: this.notifications.function, service: NOTIFIER_SERVICE, impact: 'nobody is told of new findings' },
        ...(this.notifications.digestFunction ? [{ function: this.notifications.digestFunction, service: 'ai-visibility-digest', impact: 'the daily digest is not sent' }] : []),
        ...(this.securityHubExport ? [{ function: this.securityHubExport.function, service: SECURITY_HUB_EXPORT_SERVICE, impact: 'findings do not reach Security Hub' }] : []),
        ...(this.tagger ? [{ function: this.tagger.function, service: TAGGER_SERVICE, impact: 'resources are not tagged' }] : []),
        ...(this.trailReader ? [{ function: this.trailReader.function, service: TRAIL_READER_SERVICE, impact: "agents' calls outside the AI services are missing from their ledgers" }] : []),
        ...(this.discovery ? [{ function: this.discovery.function, service: DISCOVERY_SERVICE, impact: 'what already exists, and what disappeared, is not noticed' }] : []),
        ...(this.historyImport ? [{ function: this.historyImport.function, service: BACKFILL_SERVICE, impact: 'past activity is not imported (the run retries the batch, then counts it failed)' }] : []),
        ...(this.lookupHistory ? [{ function: this.lookupHistory.function, service: LOOKUP_HISTORY_SERVICE, impact: 'past activity is not imported from event history (the run retries the account-region from its cursor, then counts it failed)' }] : []),
      ],
      queues: [
        { name: 'capture', queue: this.capture.queue, deadLetterQueue: this.capture.deadLetterQueue, maxAge: Duration.minutes(15), runbook: `Captured events that could not be delivered or classified after ${config.maxReceiveCount} deliveries. ${redrive}` },
        { name: 'lineage', queue: this.lineage.queue, deadLetterQueue: this.lineage.deadLetterQueue, maxAge: Duration.minutes(30), runbook: `Lineage recomputations that failed ${config.maxReceiveCount} times: some sensitivity may be stale. ${redrive}` },
        { name: 'notifications', queue: this.notifications.queue, deadLetterQueue: this.notifications.deadLetterQueue, maxAge: Duration.minutes(15), runbook: `Findings that could not be notified after ${config.maxReceiveCount} deliveries: nobody was told of them. ${redrive}` },
        ...(this.securityHubExport
          ? [{ name: 'security-hub-export', queue: this.securityHubExport.queue, deadLetterQueue: this.securityHubExport.deadLetterQueue, maxAge: Duration.minutes(30), runbook: `Findings Security Hub did not take after ${config.maxReceiveCount} deliveries (is Security Hub enabled in this region?). ${redrive}` }]
          : []),
        ...(this.tagger
          ? [{ name: 'tagger', queue: this.tagger.queue, deadLetterQueue: this.tagger.deadLetterQueue, maxAge: Duration.minutes(30), runbook: `Resources whose tags could not be written after ${config.maxReceiveCount} deliveries (throttling that did not clear, or a service error). The tagger log says which. ${redrive}` }]
          : []),
        ...(this.notifications.digestScheduleDeadLetterQueue
          ? [{ name: 'digest-schedule', deadLetterQueue: this.notifications.digestScheduleDeadLetterQueue, runbook: 'Digest runs Scheduler could not start (the digest function or its role). Invoke the digest function by hand once fixed.' }]
          : []),
        ...(this.trailReader
          ? [{ name: 'trail-reader', queue: this.trailReader.queue, deadLetterQueue: this.trailReader.deadLetterQueue, maxAge: Duration.minutes(30), runbook: `Log file notifications or look-backs the reader failed ${config.maxReceiveCount} times (can it read the bucket and decrypt with the trail's key? The reader log says which file). ${redrive}` }]
          : []),
        { name: 'agent-sync', queue: this.agentCapture.queue, deadLetterQueue: this.agentCapture.deadLetterQueue, runbook: 'Sync requests that failed every delivery: the hourly repair tries again; the sync log says why.' },
        { name: 'change-feed-failures', deadLetterQueue: this.changeFeed.function.deadLetterQueue!, runbook: 'Stream records the change feed could not publish within a day (pointers into the stream, readable for 24 hours): their findings and changes were not announced. The change feed log says why.' },
        { name: 'sweep-schedule', deadLetterQueue: this.gpuSweep.scheduleDeadLetterQueue, runbook: 'Sweep starts Scheduler could not make: the state machine could not be started (its role, or Step Functions throttling). Start a sweep by hand once fixed.' },
        ...(this.discovery
          ? [{ name: 'discovery-schedule', deadLetterQueue: this.discovery.scheduleDeadLetterQueue, runbook: 'Discovery starts Scheduler could not make (its role, or Step Functions throttling). Start the discovery state machine by hand once fixed (aws stepfunctions start-execution).' }]
          : []),
      ],
      rules: [...this.capture.rules.map((r) => ({ name: r.node.id.replace(/Rule$/, ''), ruleName: r.ref })), { name: 'AgentSyncRepair', ruleName: this.agentCapture.repairRule.ruleName }],
      stateMachine: this.gpuSweep.stateMachine,
      ...(this.historyImport ? { historyImport: this.historyImport.stateMachine } : {}),
      ...(this.lookupHistory ? { lookupHistory: this.lookupHistory.stateMachine } : {}),
      ...(this.discovery ? { discovery: { stateMachine: this.discovery.stateMachine, service: DISCOVERY_SERVICE, logs: this.discovery.function.logGroup } } : {}),
      classifierLogs: this.classifier.function.logGroup,
      changeFeedLogs: this.changeFeed.function.logGroup,
      services: { classifier: CLASSIFIER_SERVICE, sweep: GPU_SWEEP_SERVICE, agentSync: AGENT_CAPTURE_SYNC_SERVICE, tagger: TAGGER_SERVICE },
      organization: config.organization.enabled,
    });

    new CfnOutput(this, 'FindingsTopicArn', { value: this.notifications.topic.topicArn, description: 'SNS topic of new findings (email, or Amazon Q Developer chat channels: its default body is their custom-notification JSON)' });
    new CfnOutput(this, 'OperationsTopicArn', { value: this.operations.topic.topicArn, description: 'SNS topic every alarm notifies (subscribe to it, or set alarmEmails)' });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName, description: 'CloudWatch dashboard: pipeline health and what it sees' });
    new CfnOutput(this, 'InventoryTableName', { value: this.inventory.table.tableName, description: 'DynamoDB table with the AI inventory, principals and findings' });
    new CfnOutput(this, 'DomainEventBusName', { value: this.domainEvents.eventBusName, description: 'Event bus of the domain events (Finding Recorded, Resource Inventoried, Resource Changed, Agent Identified, Principal Watched)' });
    new CfnOutput(this, 'DomainEventBusArn', { value: this.domainEvents.eventBusArn, description: 'ARN of the domain event bus' });
    new CfnOutput(this, 'CaptureQueueUrl', { value: this.capture.queue.queueUrl, description: 'Queue the capture rules deliver to' });
    new CfnOutput(this, 'GpuSweepStateMachineArn', { value: this.gpuSweep.stateMachine.stateMachineArn, description: 'Step Functions state machine of the GPU utilization sweep' });
    if (this.historyImport) new CfnOutput(this, 'HistoryImportStateMachineArn', { value: this.historyImport.stateMachine.stateMachineArn, description: "Step Functions state machine of the history import from the trail's log files (input: prefix, from, to)" });
    if (this.lookupHistory) new CfnOutput(this, 'LookupHistoryStateMachineArn', { value: this.lookupHistory.stateMachine.stateMachineArn, description: 'Step Functions state machine of the history import from CloudTrail event history (LookupEvents; input: {"days": 1-90})' });
    if (this.discovery) new CfnOutput(this, 'DiscoveryStateMachineArn', { value: this.discovery.stateMachine.stateMachineArn, description: 'Step Functions state machine of day-zero discovery by listing' });
    new CfnOutput(this, 'LineageDeadLetterQueueUrl', { value: this.lineage.deadLetterQueue.queueUrl, description: 'Lineage work that could not be done' });
    if (this.organization) {
      new CfnOutput(this, 'OrganizationEventBusArn', { value: this.organization.eventBus.eventBusArn, description: "The central bus the members forward to (the HubEventBusArn parameter of a member stack deployed directly)" });
      new CfnOutput(this, 'MemberStackSetId', { value: this.organization.stackSet.attrStackSetId, description: 'StackSet of the member stacks' });
    }
    if (this.trailReader) {
      new CfnOutput(this, 'TrailFilesQueueArn', { value: this.trailReader.queue.queueArn, description: "Queue the trail's bucket notifies of each log file (s3:ObjectCreated:*, prefix <keyPrefix>/AWSLogs/): docs/agents.md" });
    }
    new CfnOutput(this, 'CaptureDeadLetterQueueUrl', { value: this.capture.deadLetterQueue.queueUrl, description: 'Events that could not be delivered or classified' });
  }
}
