/**
 * Amazon SageMaker AI (`sagemaker.amazonaws.com`): notebooks, training/processing/transform
 * jobs, models, endpoint configurations and endpoints.
 *
 * Create* responses carry the ARN (`responseElements.endpointArn`, ...); Delete/Stop/Start carry
 * only the name, from which the ARN is rebuilt lower-cased, as SageMaker writes it. Settings the
 * request leaves out take the API default: `DirectInternetAccess` and `RootAccess` both
 * default to `Enabled` (CreateNotebookInstance API reference), so an absent field is a risky one.
 */
import { sageMakerArn } from '../../core/arn';
import type { Collector } from '../collector';
import { at, eventSignal, fieldSignal, firstString, list, signal, str } from '../evidence';
import type { NormalizedEvent } from '../types';
import type { AttributeValue, ResourceKind, Signal } from '../../core/model';
import type { Rule } from './bedrock';

type Attributes = (e: NormalizedEvent) => Record<string, AttributeValue | undefined>;

function sm(
  kind: ResourceKind,
  arnType: string,
  arnPath: string | undefined,
  namePath: string,
  options: { status?: 'active' | 'deleted'; attributes?: Attributes; after?: (c: Collector, arn: string) => void } = {},
): Rule {
  return (c) => {
    const fromResponse = arnPath ? firstString(c.event, [arnPath]) : undefined;
    const name = str(c.event.record, namePath);
    if (!fromResponse && !name) return;
    const arn = fromResponse?.value ?? sageMakerArn(c.event, arnType, name!);
    const signals: Signal[] = [eventSignal(c.event), fromResponse ? signal(c.event, fromResponse.path, fromResponse.value) : fieldSignal(c.event, namePath)];
    c.resource(kind, arn, { status: options.status ?? 'active', signals, attributes: options.attributes?.(c.event) });
    options.after?.(c, arn);
  };
}

function notebookFindings(c: Collector, arn: string): void {
  if (c.event.errorCode) return;
  const create = c.event.eventName === 'CreateNotebookInstance';
  const internet = str(c.event.record, 'requestParameters.directInternetAccess');
  if (create && (internet ?? 'Enabled') === 'Enabled') {
    c.finding('notebook-direct-internet-access', {
      resource: arn,
      summary: `Notebook instance ${arn} has direct internet access${internet ? '' : ' (the API default)'}: data in it can leave outside any VPC control.`,
      signals: [signal(c.event, 'requestParameters.directInternetAccess', internet ?? null, internet ? undefined : 'absent: CreateNotebookInstance defaults to Enabled')],
    });
  }
  const root = str(c.event.record, 'requestParameters.rootAccess');
  if ((create && (root ?? 'Enabled') === 'Enabled') || (!create && root === 'Enabled')) {
    c.finding('notebook-root-access', {
      resource: arn,
      summary: `Notebook instance ${arn} gives its users root access${root ? '' : ' (the API default)'}: they can install any package or change the instance.`,
      signals: [signal(c.event, 'requestParameters.rootAccess', root ?? null, root ? undefined : 'absent: the API defaults to Enabled')],
    });
  }
}

function endpointConfigFindings(c: Collector, arn: string): void {
  if (c.event.errorCode) return;
  const variants = list(c.event.record, 'requestParameters.productionVariants');
  const instanceBacked = variants.some((v) => typeof at(v, 'instanceType') === 'string');
  const kms = str(c.event.record, 'requestParameters.kmsKeyId');
  // Serverless variants have no ML storage volume and reject a KMS key: only instance-backed
  // variants can, and should, have one.
  if (instanceBacked && !kms) {
    c.finding('endpoint-config-without-kms', {
      resource: arn,
      summary: `Endpoint configuration ${arn} stores model data on instance volumes without a customer-managed KMS key.`,
      signals: [signal(c.event, 'requestParameters.kmsKeyId', null, 'absent'), fieldSignal(c.event, 'requestParameters.productionVariants.0.instanceType')],
    });
  }
}

const variantTypes = (e: NormalizedEvent) =>
  list(e.record, 'requestParameters.productionVariants')
    .map((v) => at(v, 'instanceType'))
    .filter((t): t is string => typeof t === 'string');

const trains: NonNullable<Parameters<typeof sm>[4]>['after'] = (c) => c.invokesModel(eventSignal(c.event, 'trains a model'));

export const SAGEMAKER_RULES: Record<string, Rule> = {
  CreateNotebookInstance: sm('notebook', 'notebook-instance', 'responseElements.notebookInstanceArn', 'requestParameters.notebookInstanceName', {
    attributes: (e) => ({
      instanceType: str(e.record, 'requestParameters.instanceType'),
      roleArn: str(e.record, 'requestParameters.roleArn'),
      directInternetAccess: str(e.record, 'requestParameters.directInternetAccess') ?? 'Enabled',
      rootAccess: str(e.record, 'requestParameters.rootAccess') ?? 'Enabled',
      kmsKeyId: str(e.record, 'requestParameters.kmsKeyId'),
      subnetId: str(e.record, 'requestParameters.subnetId'),
      notebookState: 'Pending',
    }),
    after: notebookFindings,
  }),
  UpdateNotebookInstance: sm('notebook', 'notebook-instance', undefined, 'requestParameters.notebookInstanceName', {
    attributes: (e) => ({ instanceType: str(e.record, 'requestParameters.instanceType'), rootAccess: str(e.record, 'requestParameters.rootAccess') }),
    after: notebookFindings,
  }),
  StartNotebookInstance: sm('notebook', 'notebook-instance', undefined, 'requestParameters.notebookInstanceName', { attributes: () => ({ notebookState: 'InService' }) }),
  StopNotebookInstance: sm('notebook', 'notebook-instance', undefined, 'requestParameters.notebookInstanceName', { attributes: () => ({ notebookState: 'Stopped' }) }),
  DeleteNotebookInstance: sm('notebook', 'notebook-instance', undefined, 'requestParameters.notebookInstanceName', { status: 'deleted' }),
  CreatePresignedNotebookInstanceUrl: sm('notebook', 'notebook-instance', undefined, 'requestParameters.notebookInstanceName'),

  CreateTrainingJob: sm('training-job', 'training-job', 'responseElements.trainingJobArn', 'requestParameters.trainingJobName', {
    attributes: (e) => ({
      instanceType: str(e.record, 'requestParameters.resourceConfig.instanceType'),
      instanceCount: at(e.record, 'requestParameters.resourceConfig.instanceCount') as number | undefined,
      enableNetworkIsolation: at(e.record, 'requestParameters.enableNetworkIsolation') as boolean | undefined,
      roleArn: str(e.record, 'requestParameters.roleArn'),
      outputS3Path: str(e.record, 'requestParameters.outputDataConfig.s3OutputPath'),
    }),
    after: trains,
  }),
  StopTrainingJob: sm('training-job', 'training-job', undefined, 'requestParameters.trainingJobName', { attributes: () => ({ jobState: 'Stopping' }) }),
  CreateProcessingJob: sm('processing-job', 'processing-job', 'responseElements.processingJobArn', 'requestParameters.processingJobName', {
    attributes: (e) => ({
      instanceType: str(e.record, 'requestParameters.processingResources.clusterConfig.instanceType'),
      instanceCount: at(e.record, 'requestParameters.processingResources.clusterConfig.instanceCount') as number | undefined,
      roleArn: str(e.record, 'requestParameters.roleArn'),
    }),
  }),
  StopProcessingJob: sm('processing-job', 'processing-job', undefined, 'requestParameters.processingJobName', { attributes: () => ({ jobState: 'Stopping' }) }),
  CreateTransformJob: sm('transform-job', 'transform-job', 'responseElements.transformJobArn', 'requestParameters.transformJobName', {
    attributes: (e) => ({
      modelName: str(e.record, 'requestParameters.modelName'),
      instanceType: str(e.record, 'requestParameters.transformResources.instanceType'),
      instanceCount: at(e.record, 'requestParameters.transformResources.instanceCount') as number | undefined,
    }),
  }),
  StopTransformJob: sm('transform-job', 'transform-job', undefined, 'requestParameters.transformJobName', { attributes: () => ({ jobState: 'Stopping' }) }),

  CreateModel: sm('model', 'model', 'responseElements.modelArn', 'requestParameters.modelName', {
    attributes: (e) => ({
      modelName: str(e.record, 'requestParameters.modelName'),
      executionRoleArn: str(e.record, 'requestParameters.executionRoleArn'),
      image: str(e.record, 'requestParameters.primaryContainer.image') ?? str(e.record, 'requestParameters.containers.0.image'),
      modelDataUrl: str(e.record, 'requestParameters.primaryContainer.modelDataUrl') ?? str(e.record, 'requestParameters.containers.0.modelDataUrl'),
      enableNetworkIsolation: at(e.record, 'requestParameters.enableNetworkIsolation') as boolean | undefined,
    }),
  }),
  DeleteModel: sm('model', 'model', undefined, 'requestParameters.modelName', { status: 'deleted' }),

  CreateEndpointConfig: sm('endpoint-config', 'endpoint-config', 'responseElements.endpointConfigArn', 'requestParameters.endpointConfigName', {
    attributes: (e) => {
      const types = variantTypes(e);
      return {
        endpointConfigName: str(e.record, 'requestParameters.endpointConfigName'),
        instanceTypes: types.length ? types : undefined,
        kmsKeyId: str(e.record, 'requestParameters.kmsKeyId'),
      };
    },
    after: endpointConfigFindings,
  }),
  DeleteEndpointConfig: sm('endpoint-config', 'endpoint-config', undefined, 'requestParameters.endpointConfigName', { status: 'deleted' }),

  CreateEndpoint: sm('inference-endpoint', 'endpoint', 'responseElements.endpointArn', 'requestParameters.endpointName', {
    attributes: (e) => ({ endpointName: str(e.record, 'requestParameters.endpointName'), endpointConfigName: str(e.record, 'requestParameters.endpointConfigName') }),
  }),
  UpdateEndpoint: sm('inference-endpoint', 'endpoint', 'responseElements.endpointArn', 'requestParameters.endpointName', {
    attributes: (e) => ({ endpointConfigName: str(e.record, 'requestParameters.endpointConfigName') }),
  }),
  DeleteEndpoint: sm('inference-endpoint', 'endpoint', undefined, 'requestParameters.endpointName', { status: 'deleted' }),
};
