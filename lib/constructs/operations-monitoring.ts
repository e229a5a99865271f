/**
 * OperationsMonitoring: every failure of the pipeline seen. An operations topic (SNS, encrypted,
 * email subscriptions from the configuration), separate from the findings topic, receives
 * every alarm; each alarm says what broke and what to do. A CloudWatch dashboard shows the
 * pipeline's health and what it sees.
 *
 * Built with cdk-monitoring-constructs (cdklabs): its facade makes the standard alarms of
 * queues, functions and state machines with consistent names, annotations and actions, and lays
 * out the dashboard from the same definitions, which hand-written alarm code would repeat for
 * every resource. What it has no monitoring for (the EventBridge rules' delivery failures, our
 * own metrics, Logs Insights counts) goes through its custom monitoring and widgets.
 *
 * Alarms (docs/operations.md lists each with its runbook line):
 * - every dead-letter queue: ApproximateNumberOfMessagesVisible > 0 (NumberOfMessagesSent does
 *   not count messages moved there after failed receives);
 * - the age of the oldest message on the capture queue;
 * - errors and throttles of each function; the change feed's iterator age;
 * - the classifier's failed events (persisting) and quarantine rate;
 * - the sweep's failed, timed-out and aborted executions, and its failed account-regions;
 * - each rule's failed and dead-lettered deliveries; agent-rule sync failures.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { DefaultDashboardFactory, MonitoringFacade, SnsAlarmActionStrategy } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/core/defaults';

/** A function to watch, with what it does (for the alarm descriptions). */
export interface MonitoredFunction {
  readonly function: lambda.IFunction;
  /** Its Powertools service name (the `service` dimension of its metrics). */
  readonly service: string;
  /** What stops when it fails, in a few words ("events are not classified"). */
  readonly impact: string;
  /** Reads a stream: alarm on the iterator age. */
  readonly streamReader?: boolean;
}

/** A queue that redrives to a dead-letter queue. */
export interface MonitoredQueue {
  readonly name: string;
  readonly queue?: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** What waits in the dead-letter queue, and what to do about it. */
  readonly runbook: string;
  /** Alarm when the oldest message is older than this. @default no age alarm */
  readonly maxAge?: Duration;
}

/** An EventBridge rule whose deliveries must not fail. */
export interface MonitoredRule {
  readonly name: string;
  /** The rule's name as the AWS/Events metrics take it (its Ref on the default bus). */
  readonly ruleName: string;
}

export interface OperationsMonitoringProps {
  /** Key of the operations topic; CloudWatch is let use it for this account's alarms. */
  readonly encryptionKey: kms.IKey;
  /** Email addresses subscribed to the topic. @default none */
  readonly emails?: readonly string[];
  readonly functions: readonly MonitoredFunction[];
  readonly queues: readonly MonitoredQueue[];
  readonly rules: readonly MonitoredRule[];
  readonly stateMachine: sfn.IStateMachine;
  /** Day-zero discovery: its state machine and Powertools service (the dashboard's found-by-listing count). @default none */
  readonly discovery?: { readonly stateMachine: sfn.IStateMachine; readonly service: string; readonly logs: logs.ILogGroup };
  /** The history import (with the trail reader): alarms on its failed runs. @default none */
  readonly historyImport?: sfn.IStateMachine;
  /** The history import from event history (LookupEvents): alarms on failed and timed-out runs. @default none */
  readonly lookupHistory?: sfn.IStateMachine;
  /** Log groups of the classifier and the change feed, for the dashboard's Logs Insights counts. */
  readonly classifierLogs: logs.ILogGroup;
  readonly changeFeedLogs: logs.ILogGroup;
  /** Services of the classifier, the sweep and the agent capture sync (their metrics' `service`). */
  readonly services: { readonly classifier: string; readonly sweep: string; readonly agentSync: string; readonly tagger?: string };
  /** Organization mode: alarm on member roles the hub cannot assume. @default false */
  readonly organization?: boolean;
  /** Share of received events quarantined, over an hour, that raises the quarantine alarm. @default 0.05 */
  readonly quarantineRateThreshold?: number;
}

const GREATER = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;

export class OperationsMonitoring extends Construct {
  /** Where every alarm goes. */
  readonly topic: sns.Topic;
  readonly facade: MonitoringFacade;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsMonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.topic = new sns.Topic(this, 'Topic', { displayName: `ai-visibility operations (${stack.stackName})`, masterKey: props.encryptionKey, enforceSSL: true });
    for (const email of props.emails ?? []) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    // CloudWatch publishes to the encrypted topic on behalf of this account's alarms only
    // (SNS Developer Guide, "Encryption at rest": CloudWatch alarms need the key).
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', { dashboardNamePrefix: `${stack.stackName}-ai-visibility`, createDashboard: true, createSummaryDashboard: false, createAlarmDashboard: false });
    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: { alarmNamePrefix: stack.stackName, actionsEnabled: true, action: new SnsAlarmActionStrategy({ onAlarmTopic: this.topic }), datapointsToAlarm: 1 },
      metricFactoryDefaults: {},
      dashboardFactory: dashboards,
    });
    const monitoring = this.facade;

    // What it sees: activity, findings, inventory, agents, GPUs.
    monitoring.addLargeHeader('ai-visibility: what it sees');
    const ours = (metricName: string, service: string, statistic = 'Sum', period = Duration.hours(1)) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period });
    monitoring.addWidget(
      new cloudwatch.GraphWidget({
        title: 'Events per hour',
        width: 12,
        left: [ours('EventsClassified', props.services.classifier), ours('EventsIgnored', props.services.classifier), ours('EventsQuarantined', props.services.classifier), ours('FindingsRecorded', props.services.classifier)],
      }),
    );
    monitoring.addWidget(
      new cloudwatch.GraphWidget({
        title: 'Idle GPUs and their cost (each sweep)',
        width: 12,
        left: [ours('IdleGpuCount', props.services.sweep, 'Maximum')],
        right: [ours('IdleGpuCostPerHour', props.services.sweep, 'Maximum')],
        rightYAxis: { label: 'USD per hour', showUnits: false },
      }),
    );
    const published = `fields @timestamp | filter message = 'domain event published'`;
    const insights = (title: string, query: string, logGroup: logs.ILogGroup, view = cloudwatch.LogQueryVisualizationType.BAR) =>
      new cloudwatch.LogQueryWidget({ title, logGroupNames: [logGroup.logGroupName], queryString: query, view, width: 12, height: 6 });
    monitoring.addWidget(insights('Findings by severity', `${published} and detailType = 'Finding Recorded' | stats count(*) as findings by severity`, props.changeFeedLogs));
    monitoring.addWidget(insights('Findings by rule (top 20)', `${published} and detailType = 'Finding Recorded' | stats count(*) as findings by rule | sort findings desc | limit 20`, props.changeFeedLogs, cloudwatch.LogQueryVisualizationType.TABLE));
    monitoring.addWidget(insights('Resources inventoried, by kind', `${published} and detailType = 'Resource Inventoried' | stats count(*) as resources by kind`, props.changeFeedLogs));
    monitoring.addWidget(insights('Agents identified, by account', `${published} and detailType = 'Agent Identified' | stats count(*) as agents by account`, props.changeFeedLogs, cloudwatch.LogQueryVisualizationType.TABLE));
    const classes = ['read', 'write', 'provision', 'destructive', 'privilege', 'data-access', 'cross-account', 'denied'];
    monitoring.addWidget(
      insights(
        'Agent actions, by class',
        `fields @timestamp | filter message = 'batch classified' and agentActions > 0 | stats ${classes.map((c) => `sum(agentActionsByClass.${c}) as \`${c}\``).join(', ')}`,
        props.classifierLogs,
        cloudwatch.LogQueryVisualizationType.TABLE,
      ),
    );

    if (props.discovery) {
      // Per account, resources a listing found that no event had shown: what capture missed (or
      // what predates the stack, on the first run), from each target's log line.
      monitoring.addWidget(insights('Found by listing, per account (capture missed it)', `fields @timestamp | filter message = 'account-region listed' | stats sum(foundByListing) as found, sum(gone) as gone, sum(listed) as listed by account | sort found desc`, props.discovery.logs, cloudwatch.LogQueryVisualizationType.TABLE));
      monitoring.addWidget(
        new cloudwatch.GraphWidget({
          title: 'Discovery: found by listing, gone, APIs not listed, failed targets (per day)',
          width: 12,
          left: [ours('FoundByListing', props.discovery.service, 'Sum', Duration.days(1)), ours('ResourcesGone', props.discovery.service, 'Sum', Duration.days(1)), ours('ListingApiFailures', props.discovery.service, 'Sum', Duration.days(1)), ours('DiscoveryFailedTargets', props.discovery.service, 'Sum', Duration.days(1))],
        }),
      );
    }

    // Pipeline health: queues, functions, the sweep, the rules, the sync.
    monitoring.addLargeHeader('ai-visibility: pipeline health');
    for (const q of props.queues) {
      const dlqAlarm = { Critical: { maxMessageCount: 0, alarmDescriptionOverride: `${q.name}: messages are waiting in its dead-letter queue. ${q.runbook}` } };
      if (q.queue) {
        monitoring.monitorSqsQueueWithDlq({
          queue: q.queue,
          deadLetterQueue: q.deadLetterQueue,
          alarmFriendlyName: q.name,
          humanReadableName: q.name,
          addDeadLetterQueueMaxSizeAlarm: dlqAlarm,
          ...(q.maxAge
            ? { addQueueMaxMessageAgeAlarm: { Warning: { maxAgeInSeconds: q.maxAge.toSeconds(), alarmDescriptionOverride: `${q.name}: its oldest message is older than ${q.maxAge.toHumanString()}: the consumer is failing, throttled or too slow. Check the consumer's errors and throttles on the dashboard.` } } }
            : {}),
        });
      } else {
        monitoring.monitorSqsQueue({ queue: q.deadLetterQueue, alarmFriendlyName: q.name, humanReadableName: q.name, addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0, alarmDescriptionOverride: `${q.name}: messages are waiting in it. ${q.runbook}` } } });
      }
    }
    for (const f of props.functions) {
      monitoring.monitorLambdaFunction({
        lambdaFunction: f.function,
        alarmFriendlyName: f.service,
        humanReadableName: f.service,
        isIterator: f.streamReader,
        addFaultCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: `${f.service} failed: ${f.impact} until it succeeds. Read its log group for the error; failed work is retried and then dead-lettered.` } },
        addThrottlesCountAlarm: { Warning: { maxErrorCount: 0, alarmDescriptionOverride: `${f.service} was throttled: ${f.impact} later than it should. Check the account's Lambda concurrency quota and what else uses it.` } },
        ...(f.streamReader
          ? { addMaxIteratorAgeAlarm: { Critical: { maxAgeInMillis: Duration.minutes(15).toMilliseconds(), alarmDescriptionOverride: `${f.service} is behind the table stream by over 15 minutes: domain events (findings, inventory changes) go out late, and records older than a day are lost to its dead-letter queue. Check its errors and throttles.` } } }
          : {}),
      });
    }
    if (props.discovery) {
      monitoring.monitorStepFunction({
        stateMachine: props.discovery.stateMachine,
        alarmFriendlyName: 'discovery',
        humanReadableName: 'Discovery by listing',
        addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: 'A discovery run failed: what exists, and what disappeared, went unnoticed today. Open the failed execution in the Step Functions console for the state and error.' } },
        addTimedOutExecutionCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: 'A discovery run timed out (2 hours): too many account-regions for its concurrency. Raise discovery.maxConcurrency.' } },
      });
    }
    if (props.historyImport) {
      monitoring.monitorStepFunction({
        stateMachine: props.historyImport,
        alarmFriendlyName: 'history-import',
        humanReadableName: 'History import',
        addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: "A history import failed: more batches of log objects failed than it tolerates (5%). The map run's failed child executions say why (the trail key, a refused queue); fix it and redrive the execution: it resumes with the failed batches only." } },
      });
    }
    if (props.lookupHistory) {
      monitoring.monitorStepFunction({
        stateMachine: props.lookupHistory,
        alarmFriendlyName: 'lookup-history',
        humanReadableName: 'History import from event history',
        addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: 'A history import from event history (LookupEvents) failed outright (its plan or summary: a failed account-region is caught and listed in the summary instead). Open the failed execution in the Step Functions console, fix the cause and start it again: what it imported before merges on the eventID.' } },
        addTimedOutExecutionCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: 'A history import from event history timed out (7 days): an account-region with more AI events than 2 requests/s can page in a week. Start it again with fewer days ({"days": N}).' } },
      });
    }
    monitoring.monitorStepFunction({
      stateMachine: props.stateMachine,
      alarmFriendlyName: 'gpu-sweep',
      humanReadableName: 'GPU utilization sweep',
      addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: 'A GPU sweep failed: idle GPUs go unreported for this hour. Open the failed execution in the Step Functions console for the state and error.' } },
      addTimedOutExecutionCountAlarm: { Critical: { maxErrorCount: 0, alarmDescriptionOverride: 'A GPU sweep timed out (50 minutes): too many account-regions or slow metrics. Raise sweepMaxConcurrency or narrow sweepRegions.' } },
      addAbortedExecutionCountAlarm: { Warning: { maxErrorCount: 0, alarmDescriptionOverride: 'A GPU sweep was aborted (by a person or a deployment): this hour was not swept.' } },
    });

    const events5m = (metricName: string, dimensionsMap: Record<string, string>) => new cloudwatch.Metric({ namespace: 'AWS/Events', metricName, dimensionsMap, statistic: 'Sum', period: Duration.minutes(5) });
    const custom = (metricName: string, service: string, period = Duration.minutes(5)) => ours(metricName, service, 'Sum', period);
    monitoring.monitorCustom({
      alarmFriendlyName: 'pipeline',
      humanReadableName: 'Pipeline failures',
      metricGroups: [
        {
          title: 'Classifier: failed and quarantined events',
          metrics: [
            {
              metric: custom('EventsFailed', props.services.classifier),
              alarmFriendlyName: 'ClassifierEventsFailed',
              // Three 5-minute periods in a row: a throttle that retries away is no alarm.
              addAlarm: { Critical: { threshold: 0, comparisonOperator: GREATER, evaluationPeriods: 3, datapointsToAlarm: 3, alarmDescriptionOverride: 'The classifier has failed events for 15 minutes: they are retried and, after maxReceiveCount deliveries, dead-lettered. Read the classifier log ("inventory write failed", "agent step failed") for the cause.' } },
            },
            {
              metric: new cloudwatch.MathExpression({
                expression: 'IF(received > 0, quarantined / received, 0)',
                usingMetrics: { quarantined: custom('EventsQuarantined', props.services.classifier, Duration.hours(1)), received: custom('EventsReceived', props.services.classifier, Duration.hours(1)) },
                period: Duration.hours(1),
                label: 'Quarantine rate',
              }),
              alarmFriendlyName: 'ClassifierQuarantineRate',
              addAlarm: {
                Warning: {
                  threshold: props.quarantineRateThreshold ?? 0.05,
                  comparisonOperator: GREATER,
                  alarmDescriptionOverride: `Over ${Math.round((props.quarantineRateThreshold ?? 0.05) * 100)} % of captured events were quarantined in an hour: events that cannot be read are reaching the capture rules. Query the quarantine items (ai-visibility replay's report, or the table's QUARANTINE items) for the reasons.`,
                },
              },
            },
          ],
        },
        {
          title: 'GPU sweep: failed account-regions',
          metrics: [
            {
              metric: custom('SweepFailedTargets', props.services.sweep, Duration.hours(1)),
              alarmFriendlyName: 'SweepFailedTargets',
              addAlarm: { Warning: { threshold: 0, comparisonOperator: GREATER, alarmDescriptionOverride: 'The GPU sweep could not sweep an account-region: its GPUs were not judged this hour. The sweep summary event and the sweep log name the account, region and error (usually a missing permission or a throttle).' } },
            },
          ],
        },
        ...(props.organization
          ? [
              {
                title: 'Organization: member roles that cannot be assumed',
                metrics: [
                  {
                    // The sweep's and the tagger's refusals together.
                    metric: new cloudwatch.MathExpression({
                      expression: 'FILL(sweep, 0) + FILL(tagger, 0)',
                      usingMetrics: { sweep: custom('MemberRoleUnavailable', props.services.sweep, Duration.hours(1)), tagger: custom('MemberRoleUnavailable', props.services.tagger ?? 'ai-visibility-tagger', Duration.hours(1)) },
                      period: Duration.hours(1),
                      label: 'MemberRoleUnavailable',
                    }),
                    alarmFriendlyName: 'MemberRoleUnavailable',
                    addAlarm: { Critical: { threshold: 0, comparisonOperator: GREATER, alarmDescriptionOverride: "The hub could not assume a member account's role (ai-visibility/ai-visibility-member): that account is not swept. The member-role-unavailable finding and the sweep's or tagger's log name the account and STS's answer; check the account's stack instance of the members StackSet (docs/organization.md)." } },
                  },
                ],
              },
            ]
          : []),
        {
          title: 'Agent capture rule sync failures',
          metrics: [
            {
              metric: custom('AgentRuleSyncFailures', props.services.agentSync, Duration.minutes(15)),
              alarmFriendlyName: 'AgentRuleSyncFailures',
              addAlarm: { Critical: { threshold: 0, comparisonOperator: GREATER, alarmDescriptionOverride: 'An agent capture rule could not be put or removed: some watched agents are not followed. The sync log names the rule and the error (a pattern over the event-pattern quota, a throttle, a missing permission); the sync retries by itself.' } },
            },
          ],
        },
        {
          title: 'EventBridge rules: failed and dead-lettered deliveries',
          // Ids unique across the group: the rules share one graph.
          metrics: props.rules.map((r, i) => ({
            metric: new cloudwatch.MathExpression({
              expression: `failed${i} + toDlq${i}`,
              usingMetrics: { [`failed${i}`]: events5m('FailedInvocations', { RuleName: r.ruleName }), [`toDlq${i}`]: events5m('InvocationsSentToDlq', { RuleName: r.ruleName }) },
              period: Duration.minutes(5),
              label: r.name,
            }),
            alarmFriendlyName: `Rule${r.name}Deliveries`,
            addAlarm: {
              Critical: { threshold: 0, comparisonOperator: GREATER, alarmDescriptionOverride: `The ${r.name} rule could not deliver events to its queue: they are retried for a day, then dead-lettered. Check the queue's policy and key policy (a changed KMS key policy is the usual cause).` },
            },
          })),
        },
      ],
    });

    this.dashboard = dashboards.dashboard!;
  }
}
