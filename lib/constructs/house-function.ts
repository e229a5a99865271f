/**
 * AiVisibilityFunction: the one way this project makes a Lambda function.
 *
 * It fixes what no function may forget: the latest Node.js runtime aws-cdk-lib offers, arm64,
 * JSON logs into a log group with a retention, X-Ray tracing, and a role of its own under the
 * `/ai-visibility/` IAM path (how the capture rules recognise, and skip, the stack's own
 * calls) that starts with nothing but writing to its own log group. Source maps only when asked
 * (they cost cold-start time). An encrypted dead-letter queue only for a function that is
 * invoked asynchronously or sends its failures somewhere: the others are fed by queues that
 * have their own.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { houseQueue } from './house-queue';
import type { Construct } from 'constructs';
import { extname, join } from 'node:path';
import { OWN_ROLE_PATH } from '../../lambdas/core/constants';

/** The newest Node.js runtime in aws-cdk-lib (cdk-nag AwsSolutions-L1 checks it stays so). */
export const HOUSE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * The entry file of a function's handler, `lambdas/<name>/<file>`: the TypeScript source in
 * this repository, the compiled JavaScript in the published package (dist/), whichever this
 * module itself is. esbuild bundles either. Inside the compiled command line (dist/cli/cli.js,
 * whose `sweep` synthesizes the sweep's state machine) this module is part of one file two
 * levels below the package root, and the entries are the TypeScript sources.
 */
export function handlerEntry(name: string, file = 'handler'): string {
  if (process.env.AI_VISIBILITY_COMPILED_CLI === 'true') return join(__dirname, '..', '..', 'lambdas', name, `${file}.ts`);
  return join(__dirname, '..', '..', 'lambdas', name, `${file}${extname(__filename)}`);
}

/** What every construct that makes functions takes for them. */
export interface HouseFunctionOptions {
  /** Days to keep the functions' logs (a CloudWatch Logs retention period). */
  readonly logRetentionDays: number;
  /** What happens to the log groups when the stack is deleted. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Key that encrypts the functions' dead-letter queues. */
  readonly encryptionKey: kms.IKey;
  /** Ship source maps and turn them on (stack traces point at the TypeScript). @default false */
  readonly sourceMaps?: boolean;
}

/** The house options of a construct's props, to spread into each of its functions. */
export function houseOptions(props: HouseFunctionOptions): HouseFunctionOptions {
  return { logRetentionDays: props.logRetentionDays, logRemovalPolicy: props.logRemovalPolicy, sourceMaps: props.sourceMaps, encryptionKey: props.encryptionKey };
}

export interface AiVisibilityFunctionProps extends HouseFunctionOptions {
  /** Path of the handler's TypeScript entry file. */
  readonly entry: string;
  readonly description: string;
  /** The function's complete environment, built with `environmentFor(spec, values)`. */
  readonly environment: Record<string, string>;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Give the function a dead-letter queue (for asynchronous invocations, or as a failure destination). @default false */
  readonly deadLetterQueue?: boolean;
}

export class AiVisibilityFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: AiVisibilityFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      path: OWN_ROLE_PATH,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ai-visibility ${id} function`,
    });
    // Instead of the AWSLambdaBasicExecutionRole managed policy (any log group): its own only.
    // (A log group's Arn attribute already covers its streams: it ends in ":*".)
    logGroup.grantWrite(role);
    const deadLetterQueue = props.deadLetterQueue
      ? houseQueue(scope, `${id}Dlq`, props.encryptionKey)
      : undefined;
    // Lambda sends failed asynchronous events with the function's role: sending to a queue
    // encrypted with a customer-managed key needs the key too (the function grants only sqs:SendMessage).
    if (deadLetterQueue) props.encryptionKey.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    const sourceMaps = props.sourceMaps ?? false;

    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: HOUSE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      deadLetterQueue,
      // With source maps, stack traces point at the TypeScript sources (the bundle ships its map).
      environment: sourceMaps ? { ...props.environment, NODE_OPTIONS: '--enable-source-maps' } : props.environment,
      bundling: {
        format: OutputFormat.CJS,
        // The SDK's ES module builds, which esbuild can tree-shake (its CommonJS builds are one file per package).
        mainFields: ['module', 'main'],
        target: 'node24',
        minify: true,
        sourceMap: sourceMaps,
        sourcesContent: false,
        // Bundle the SDK too: the function runs the versions the tests ran, not the runtime's.
        externalModules: [],
        forceDockerBundling: false,
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource must be "*".',
    });
    if (deadLetterQueue) {
      Validations.of(deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: "This queue is itself the function's dead-letter queue." });
    }
  }
}
