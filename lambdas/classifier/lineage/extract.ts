/**
 * Lineage from events: which data and models flow into which AI resources, read from the create
 * calls as they happen. Pure: one normalized event in, its edges and any bucket tag change out.
 *
 * Field paths follow the request and response shapes of each API reference, camelCased the way
 * CloudTrail logs them. Resources are named the way the classifier's rules name them (the ARN
 * from the response, else built from the id in the request), so an edge's ends are the
 * inventory's own items. A failed call (errorCode) yields nothing: no data moved.
 *
 * S3 locations are nodes of their own (`arn:aws:s3:::bucket/prefix`), each joined to its bucket
 * by a `contains` edge, through which the bucket's classification reaches it.
 */
import { CLASSIFICATION_DEFAULTS } from '../../core/defaults';
import { arnOrBuild, bedrockArn, kindOfArn, resolveModelId, sageMakerArn } from '../../core/arn';
import { at, list, str } from '../evidence';
import { own } from '../../core/own';
import { cut } from '../boundary';
import { requestTagOf } from '../tags';
import type { NormalizedEvent } from '../types';
import { bucketOf, carriesOwnClassification, dataSourceNode, loggingConfigNode, RELATIONS, s3Node, type LineageEdge, type Relation } from '../../core/lineage';

/**
 * The tags of a node that its classification is read from, as one event left them: a bucket's
 * whole tag set (PutBucketTagging replaces it; {} after DeleteBucketTagging), or, for any other
 * node, the classification tag alone ({} once removed): tag calls there change only the keys
 * they name, and that key is the only one lineage reads.
 */
export interface NodeTags {
  readonly node: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface LineageFacts {
  readonly edges: readonly LineageEdge[];
  readonly tags?: readonly NodeTags[];
}

const NONE: LineageFacts = { edges: [] };

/** The training job's model artifact, where SageMaker uploads it: `<S3OutputPath>/<TrainingJobName>/output/model.tar.gz`. */
export const trainingArtifact = (outputPath: string, jobName: string) => `${outputPath.replace(/\/+$/, '')}/${jobName}/output/model.tar.gz`;

class Edges {
  readonly list: LineageEdge[] = [];
  constructor(readonly event: NormalizedEvent) {}

  add(from: string | undefined, relation: Relation, to: string | undefined): void {
    if (!from || !to || from === to) return;
    this.list.push({ from, to, relation });
    for (const node of [from, to]) {
      const bucket = bucketOf(node);
      if (bucket && bucket !== node) this.list.push({ from: bucket, to: node, relation: RELATIONS.contains });
    }
  }

  s3(location: string | undefined): string | undefined {
    return location ? s3Node(this.event.partition, location) : undefined;
  }

  s3At(path: string, root: unknown = this.event.record): string | undefined {
    return this.s3(str(root, path));
  }

  /** A model a Bedrock call names by id, inference profile id or ARN. */
  model(path: string): string | undefined {
    const id = str(this.event.record, path);
    return id ? resolveModelId(this.event, id)?.arn : undefined;
  }

  unique(): LineageEdge[] {
    return [...new Map(this.list.map((e) => [`${e.from}\u0000${e.relation}\u0000${e.to}`, e])).values()];
  }
}

type Extractor = (x: Edges, e: NormalizedEvent) => void;

const req = 'requestParameters';

/** A SageMaker resource: the ARN the response gives, else built from the name (lower-cased, as SageMaker does). */
function sageMaker(e: NormalizedEvent, arnPath: string, type: string, namePath: string): string | undefined {
  const arn = str(e.record, arnPath);
  if (arn) return kindOfArn(arn)?.arn ?? arn;
  const name = str(e.record, namePath);
  return name ? sageMakerArn(e, type, name) : undefined;
}

/** A Bedrock resource: the ARN the response gives, else built from an id in the request. */
function bedrock(e: NormalizedEvent, arnPath: string | undefined, type: string, idPath: string | undefined): string | undefined {
  const fromResponse = arnPath ? str(e.record, arnPath) : undefined;
  const id = fromResponse ?? (idPath ? str(e.record, idPath) : undefined);
  if (!id) return undefined;
  const arn = arnOrBuild(id, (x) => bedrockArn(e, type, x));
  return kindOfArn(arn)?.arn ?? arn;
}

/** Every model-data location of a SageMaker model: the primary container and each container. */
function modelDataLocations(x: Edges): string[] {
  const containers = [at(x.event.record, `${req}.primaryContainer`), ...list(x.event.record, `${req}.containers`)];
  return containers.flatMap((c) => [x.s3At('modelDataUrl', c), x.s3At('modelDataSource.s3DataSource.s3Uri', c)]).filter((n): n is string => n !== undefined);
}

const loggingConfig = (e: NormalizedEvent) => loggingConfigNode(e.partition, e.region, e.account);

const EXTRACTORS: Record<string, Extractor> = {
  // SageMaker AI.
  CreateTrainingJob: (x, e) => {
    const job = sageMaker(e, 'responseElements.trainingJobArn', 'training-job', `${req}.trainingJobName`);
    for (const channel of list(e.record, `${req}.inputDataConfig`)) x.add(x.s3At('dataSource.s3DataSource.s3Uri', channel), RELATIONS.inputOf, job);
    const output = str(e.record, `${req}.outputDataConfig.s3OutputPath`);
    const name = str(e.record, `${req}.trainingJobName`);
    x.add(job, RELATIONS.outputTo, x.s3(output));
    if (output && name) x.add(job, RELATIONS.produces, x.s3(trainingArtifact(output, name)));
  },
  CreateProcessingJob: (x, e) => {
    const job = sageMaker(e, 'responseElements.processingJobArn', 'processing-job', `${req}.processingJobName`);
    for (const input of list(e.record, `${req}.processingInputs`)) x.add(x.s3At('s3Input.s3Uri', input), RELATIONS.inputOf, job);
    for (const output of list(e.record, `${req}.processingOutputConfig.outputs`)) x.add(job, RELATIONS.outputTo, x.s3At('s3Output.s3Uri', output));
  },
  CreateTransformJob: (x, e) => {
    const job = sageMaker(e, 'responseElements.transformJobArn', 'transform-job', `${req}.transformJobName`);
    const model = str(e.record, `${req}.modelName`);
    x.add(model ? sageMakerArn(e, 'model', model) : undefined, RELATIONS.modelOf, job);
    x.add(x.s3At(`${req}.transformInput.dataSource.s3DataSource.s3Uri`), RELATIONS.inputOf, job);
    x.add(job, RELATIONS.outputTo, x.s3At(`${req}.transformOutput.s3OutputPath`));
  },
  CreateModel: (x, e) => {
    const model = sageMaker(e, 'responseElements.modelArn', 'model', `${req}.modelName`);
    for (const location of modelDataLocations(x)) x.add(location, RELATIONS.modelDataOf, model);
  },
  CreateEndpointConfig: (x, e) => {
    const config = sageMaker(e, 'responseElements.endpointConfigArn', 'endpoint-config', `${req}.endpointConfigName`);
    for (const variant of [...list(e.record, `${req}.productionVariants`), ...list(e.record, `${req}.shadowProductionVariants`)]) {
      const model = str(variant, 'modelName');
      x.add(model ? sageMakerArn(e, 'model', model) : undefined, RELATIONS.modelOf, config);
    }
    // Data capture stores the endpoint's requests and responses: prompts, logged.
    if (at(e.record, `${req}.dataCaptureConfig.enableCapture`) !== false) x.add(config, RELATIONS.logsTo, x.s3At(`${req}.dataCaptureConfig.destinationS3Uri`));
    x.add(config, RELATIONS.outputTo, x.s3At(`${req}.asyncInferenceConfig.outputConfig.s3OutputPath`));
  },
  CreateEndpoint: (x, e) => endpoint(x, e),
  // The endpoint now serves the new configuration; the edge from the old one stays (history).
  UpdateEndpoint: (x, e) => endpoint(x, e),

  // Amazon Bedrock.
  CreateModelCustomizationJob: (x, e) => {
    const job = bedrock(e, 'responseElements.jobArn', 'model-customization-job', undefined);
    x.add(x.s3At(`${req}.trainingDataConfig.s3Uri`), RELATIONS.inputOf, job);
    for (const v of list(e.record, `${req}.validationDataConfig.validators`)) x.add(x.s3At('s3Uri', v), RELATIONS.inputOf, job);
    x.add(x.model(`${req}.baseModelIdentifier`), RELATIONS.baseModelOf, job);
    x.add(job, RELATIONS.outputTo, x.s3At(`${req}.outputDataConfig.s3Uri`));
  },
  // The job's EventBridge state change names the custom model it produced (normalize.ts).
  ModelCustomizationJobStateChange: (x, e) => {
    const details = at(e.record, 'serviceEventDetails');
    const job = str(details, 'jobArn');
    const model = str(details, 'outputModelArn');
    if (!job || !model || str(details, 'jobStatus') !== 'Completed') return;
    const custom = kindOfArn(model)?.arn ?? model;
    x.add(kindOfArn(job)?.arn ?? job, RELATIONS.produces, custom);
    x.add(custom, RELATIONS.invocationsLoggedBy, loggingConfig(e));
  },
  CreateModelImportJob: (x, e) => {
    x.add(x.s3At(`${req}.modelDataSource.s3DataSource.s3Uri`), RELATIONS.inputOf, bedrock(e, 'responseElements.jobArn', 'model-import-job', undefined));
  },
  CreateProvisionedModelThroughput: (x, e) => {
    const throughput = bedrock(e, 'responseElements.provisionedModelArn', 'provisioned-model', undefined);
    x.add(x.model(`${req}.modelId`), RELATIONS.modelOf, throughput);
    x.add(throughput, RELATIONS.invocationsLoggedBy, loggingConfig(e));
  },
  CreateModelInvocationJob: (x, e) => {
    const job = bedrock(e, 'responseElements.jobArn', 'model-invocation-job', undefined);
    x.add(x.s3At(`${req}.inputDataConfig.s3InputDataConfig.s3Uri`), RELATIONS.inputOf, job);
    x.add(x.model(`${req}.modelId`), RELATIONS.modelOf, job);
    x.add(job, RELATIONS.outputTo, x.s3At(`${req}.outputDataConfig.s3OutputDataConfig.s3Uri`));
  },
  CreateKnowledgeBase: (x, e) => {
    const kb = bedrock(e, 'responseElements.knowledgeBase.knowledgeBaseArn', 'knowledge-base', 'responseElements.knowledgeBase.knowledgeBaseId');
    x.add(x.model(`${req}.knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn`), RELATIONS.embeddingModelOf, kb);
    x.add(kb, RELATIONS.invocationsLoggedBy, loggingConfig(e));
  },
  CreateDataSource: (x, e) => {
    const kbId = str(e.record, `${req}.knowledgeBaseId`);
    if (!kbId) return;
    const kb = bedrockArn(e, 'knowledge-base', kbId);
    const dsId = str(e.record, 'responseElements.dataSource.dataSourceId');
    const source = dsId ? dataSourceNode(e.region, e.account, kbId, dsId) : kb;
    const bucket = x.s3At(`${req}.dataSourceConfiguration.s3Configuration.bucketArn`);
    const prefixes = list(e.record, `${req}.dataSourceConfiguration.s3Configuration.inclusionPrefixes`).filter((p): p is string => typeof p === 'string' && p !== '');
    const locations = bucket && prefixes.length ? prefixes.map((p) => x.s3(`s3://${bucket.split(':::')[1]}/${p}`)) : [bucket];
    for (const location of locations) x.add(location, RELATIONS.sourceOf, source);
    x.add(source === kb ? undefined : source, RELATIONS.ingestedInto, kb);
  },
  StartIngestionJob: (x, e) => {
    const kbId = str(e.record, `${req}.knowledgeBaseId`);
    const dsId = str(e.record, `${req}.dataSourceId`);
    if (kbId && dsId) x.add(dataSourceNode(e.region, e.account, kbId, dsId), RELATIONS.ingestedInto, bedrockArn(e, 'knowledge-base', kbId));
  },
  AssociateAgentKnowledgeBase: (x, e) => {
    const agentId = str(e.record, `${req}.agentId`);
    const kbId = str(e.record, `${req}.knowledgeBaseId`);
    if (agentId && kbId) x.add(bedrockArn(e, 'knowledge-base', kbId), RELATIONS.knowledgeBaseOf, bedrockArn(e, 'agent', agentId));
  },
  CreateAgent: (x, e) => {
    const agent = bedrock(e, 'responseElements.agent.agentArn', 'agent', 'responseElements.agent.agentId');
    x.add(x.model(`${req}.foundationModel`), RELATIONS.modelOf, agent);
    x.add(agent, RELATIONS.invocationsLoggedBy, loggingConfig(e));
  },
  CreateAgentActionGroup: (x, e) => {
    const agentId = str(e.record, `${req}.agentId`);
    const fn = str(e.record, `${req}.actionGroupExecutor.lambda`);
    if (agentId && fn) x.add(fn.replace(/:(\$LATEST|\d+)$/, ''), RELATIONS.toolOf, bedrockArn(e, 'agent', agentId));
  },
  PutModelInvocationLoggingConfiguration: (x, e) => {
    const config = loggingConfig(e);
    const cfg = at(e.record, `${req}.loggingConfig`);
    // With every data type turned off nothing is delivered anywhere (the classifier raises invocation-logging-disabled).
    const flags = ['textDataDeliveryEnabled', 'imageDataDeliveryEnabled', 'embeddingDataDeliveryEnabled', 'videoDataDeliveryEnabled'].map((f) => at(cfg, f)).filter((v) => typeof v === 'boolean');
    if (flags.length > 0 && flags.every((v) => v === false)) return;
    for (const bucket of [str(cfg, 's3Config.bucketName'), str(cfg, 'cloudWatchConfig.largeDataDeliveryS3Config.bucketName')]) {
      if (bucket) x.add(config, RELATIONS.logsTo, x.s3(`s3://${bucket}`));
    }
    const group = str(cfg, 'cloudWatchConfig.logGroupName');
    if (group) x.add(config, RELATIONS.logsTo, `arn:${e.partition}:logs:${e.region}:${e.account}:log-group:${group}`);
  },

  // Amazon S3 (model files: the capture rule passes only those).
  PutObject: (x, e) => modelFile(x, e),
  CompleteMultipartUpload: (x, e) => modelFile(x, e),
  CopyObject: (x, e) => {
    const object = modelFile(x, e);
    // x-amz-copy-source is `bucket/key`, URL-encoded, optionally with ?versionId=.
    const source = str(e.record, `${req}.x-amz-copy-source`);
    if (object && source) {
      let decoded = source;
      try {
        decoded = decodeURIComponent(source);
      } catch {
        // keep it as logged
      }
      x.add(x.s3(`s3://${decoded.replace(/^\//, '')}`), RELATIONS.copiedTo, object);
    }
  },
};

function endpoint(x: Edges, e: NormalizedEvent): void {
  const config = str(e.record, `${req}.endpointConfigName`);
  x.add(config ? sageMakerArn(e, 'endpoint-config', config) : undefined, RELATIONS.configOf, sageMaker(e, 'responseElements.endpointArn', 'endpoint', `${req}.endpointName`));
}

function modelFile(x: Edges, e: NormalizedEvent): string | undefined {
  const bucket = str(e.record, `${req}.bucketName`);
  const key = str(e.record, `${req}.key`);
  if (!bucket || !key) return undefined;
  const object = x.s3(`s3://${bucket}/${key}`);
  x.add(object, RELATIONS.storedIn, x.s3(`s3://${bucket}`));
  return object;
}

function bucketTags(e: NormalizedEvent): NodeTags | undefined {
  const bucket = str(e.record, `${req}.bucketName`);
  const node = bucket ? s3Node(e.partition, `s3://${bucket}`) : undefined;
  if (!node) return undefined;
  const tags: Record<string, string> = {};
  if (e.eventName === 'PutBucketTagging') {
    for (const tag of list(e.record, `${req}.Tagging.TagSet.Tag`)) {
      const key = str(tag, 'Key');
      const value = at(tag, 'Value');
      if (key) tags[key] = typeof value === 'string' ? value : '';
    }
  }
  return { node, tags };
}

/** The AI services whose tag calls and create requests can classify a resource. */
const TAGGING_SOURCES = new Set(['bedrock.amazonaws.com', 'bedrock-agentcore.amazonaws.com', 'sagemaker.amazonaws.com']);
/** Tag calls of those services (Bedrock, bedrock-agent and AgentCore TagResource/UntagResource; SageMaker AddTags/DeleteTags). */
const TAG_CALLS = new Set(['TagResource', 'UntagResource', 'AddTags', 'DeleteTags']);
/** Where each tag call names its resource: Bedrock `resourceARN`, bedrock-agent and AgentCore `resourceArn`, SageMaker `ResourceArn` (CloudTrail: `resourceArn`). */
const RESOURCE_ARN_FIELDS = ['resourceARN', 'resourceArn', 'ResourceArn'];

/**
 * What a create call created: the one AI resource of the event's account its response names
 * under an `...Arn` key (`agent.agentArn`, `endpointArn`, `knowledgeBase.knowledgeBaseArn`; not
 * `agent.foundationModel`, a model it uses). None when the response names several: which one the
 * tags went to is then the lookup's to say.
 */
function createdResource(e: NormalizedEvent): string | undefined {
  const found = new Set<string>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 3 || v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' && /arn$/i.test(k)) {
        const known = kindOfArn(x);
        if (known && known.parsed.account === e.account) found.add(known.arn);
      } else walk(x, depth + 1);
    }
  };
  walk(e.record.responseElements, 0);
  return found.size === 1 ? [...found][0] : undefined;
}

/**
 * The classification tag an AI service call sets on or removes from a resource other than a
 * bucket: a tag call names the resource in its request; a create call tags what it creates (the
 * resource its response names) with the request's top-level `tags`. Nested tag lists of other
 * resources (a customization job's `customModelTags`) are left to the lookup, as is a resource
 * whose create response does not name it. Values are cut to 256 characters, as AWS allows.
 */
export function classificationTagsOf(e: NormalizedEvent, tagKey: string): NodeTags[] {
  if (!TAGGING_SOURCES.has(e.eventSource)) return [];
  const request = e.record.requestParameters;
  if (request === null || typeof request !== 'object') return [];
  let targets: string[];
  let holder: unknown;
  if (TAG_CALLS.has(e.eventName)) {
    const named = RESOURCE_ARN_FIELDS.map((f) => str(request, f)).find((v) => v !== undefined);
    const known = named ? kindOfArn(named) : undefined;
    targets = known ? [known.arn] : [];
    holder = request;
  } else if (e.eventName.startsWith('Create')) {
    const tags = (request as Record<string, unknown>).tags ?? (request as Record<string, unknown>).Tags;
    if (tags === undefined) return [];
    const created = createdResource(e);
    targets = created ? [created] : [];
    holder = { tags };
  } else return [];
  const tag = requestTagOf(holder, e.eventName, tagKey);
  if (!tag) return [];
  const tags = tag.value === null ? {} : { [tagKey]: cut(tag.value, 256) };
  return targets.filter(carriesOwnClassification).map((node) => ({ node, tags }));
}

/** The lineage an event shows; `tagKey` is the classification tag (the scheme's). */
export function lineageOf(event: NormalizedEvent, tagKey: string = CLASSIFICATION_DEFAULTS.tagKey): LineageFacts {
  if (event.errorCode) return NONE;
  if (event.eventSource === 's3.amazonaws.com' && (event.eventName === 'PutBucketTagging' || event.eventName === 'DeleteBucketTagging')) {
    const tags = bucketTags(event);
    return tags ? { edges: [], tags: [tags] } : NONE;
  }
  const classified = classificationTagsOf(event, tagKey);
  const extract = own(EXTRACTORS, event.eventName);
  const source = event.eventSource;
  if (!extract || !(source === 'sagemaker.amazonaws.com' || source === 'bedrock.amazonaws.com' || source === 's3.amazonaws.com')) return classified.length ? { edges: [], tags: classified } : NONE;
  const x = new Edges(event);
  extract(x, event);
  return classified.length ? { edges: x.unique(), tags: classified } : { edges: x.unique() };
}
