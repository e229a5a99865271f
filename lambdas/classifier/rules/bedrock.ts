/**
 * Amazon Bedrock (`bedrock.amazonaws.com`): runtime, model lifecycle, guardrails, logging,
 * model access, agents, knowledge bases and flows all log under this one event source.
 *
 * Field paths follow the API references' request/response shapes (camelCase in CloudTrail).
 * Where CloudTrail omits content (guardrail policies are not logged), the rule says so in the
 * finding's confidence instead of guessing.
 */
import { arnOrBuild, bedrockArn, kindOfArn, resolveModelId } from '../../core/arn';
import type { Collector } from '../collector';
import { at, eventSignal, fieldSignal, firstString, list, signal, str } from '../evidence';
import type { NormalizedEvent } from '../types';
import type { Signal } from '../../core/model';
import { loggingConfigNode } from '../../core/lineage';

export type Rule = (c: Collector) => void;

/** Record the model a call names (foundation model, profile, custom model...). */
function model(c: Collector, path: string): { arn: string } | undefined {
  const modelId = str(c.event.record, path);
  if (!modelId) return undefined;
  const resolved = resolveModelId(c.event, modelId);
  if (!resolved) return undefined;
  const owned = resolved.kind === 'foundation-model';
  c.resource(resolved.kind, resolved.arn, {
    signals: [fieldSignal(c.event, path)],
    attributes: { modelId },
    ...(owned ? { account: 'aws', region: c.event.region } : {}),
  });
  return resolved;
}

function invocation(path: string): Rule {
  return (c) => {
    const m = model(c, path);
    c.invokesModel(m ? fieldSignal(c.event, path, 'invokes a model') : eventSignal(c.event, 'invokes a model'));
  };
}

/** Resource ARN from a response path, else built from an id in the request. */
function idOrArn(
  c: Collector,
  responseArnPaths: readonly string[],
  requestIdPaths: readonly string[],
  build: (id: string) => string,
): { arn: string; signal: Signal } | undefined {
  const fromResponse = firstString(c.event, responseArnPaths);
  if (fromResponse) return { arn: fromResponse.value, signal: signal(c.event, fromResponse.path, fromResponse.value) };
  const fromRequest = firstString(c.event, requestIdPaths);
  if (fromRequest) return { arn: arnOrBuild(fromRequest.value, build), signal: signal(c.event, fromRequest.path, fromRequest.value) };
  return undefined;
}

function lifecycle(
  kind: Parameters<Collector['resource']>[0],
  arnType: string,
  responseArnPaths: readonly string[],
  requestIdPaths: readonly string[],
  options: { status?: 'active' | 'deleted'; attributes?: (e: NormalizedEvent) => Record<string, string | number | boolean | undefined> } = {},
): Rule {
  return (c) => {
    const found = idOrArn(c, responseArnPaths, requestIdPaths, (id) => bedrockArn(c.event, arnType, id));
    if (!found) return;
    const canonical = kindOfArn(found.arn)?.arn ?? found.arn;
    c.resource(kind, canonical, {
      status: options.status ?? 'active',
      signals: [eventSignal(c.event), found.signal],
      attributes: options.attributes?.(c.event),
    });
  };
}

const LOGGING_CONFIG = (e: NormalizedEvent) => loggingConfigNode(e.partition, e.region, e.account);

function loggingConfig(c: Collector): void {
  const arn = LOGGING_CONFIG(c.event);
  if (c.event.eventName === 'DeleteModelInvocationLoggingConfiguration') {
    c.resource('invocation-logging-config', arn, { status: 'deleted', signals: [eventSignal(c.event)] });
    c.finding('invocation-logging-disabled', {
      resource: arn,
      summary: `Model invocation logging was deleted in ${c.event.account}/${c.event.region}: prompts and completions are no longer recorded.`,
      signals: [eventSignal(c.event, 'logging configuration deleted')],
    });
    return;
  }
  const cfg = at(c.event.record, 'requestParameters.loggingConfig');
  const s3Bucket = str(cfg, 's3Config.bucketName');
  const logGroup = str(cfg, 'cloudWatchConfig.logGroupName');
  const flags = ['textDataDeliveryEnabled', 'imageDataDeliveryEnabled', 'embeddingDataDeliveryEnabled', 'videoDataDeliveryEnabled'];
  const given = flags.filter((f) => typeof at(cfg, f) === 'boolean');
  const allOff = given.length > 0 && given.every((f) => at(cfg, f) === false);
  c.resource('invocation-logging-config', arn, {
    signals: [eventSignal(c.event)],
    attributes: {
      s3Bucket,
      logGroup,
      ...Object.fromEntries(given.map((f) => [f, at(cfg, f) as boolean])),
    },
  });
  if (c.event.eventName !== 'PutModelInvocationLoggingConfiguration') return;
  if (!s3Bucket && !logGroup) {
    c.finding('invocation-logging-disabled', {
      resource: arn,
      summary: 'Model invocation logging was configured with no destination (neither S3 nor CloudWatch Logs).',
      signals: [signal(c.event, 'requestParameters.loggingConfig', cfg ?? null, 'no s3Config.bucketName and no cloudWatchConfig.logGroupName')],
    });
  } else if (allOff) {
    c.finding('invocation-logging-disabled', {
      resource: arn,
      summary: 'Model invocation logging was configured with every data type turned off.',
      signals: given.map((f) => fieldSignal(c.event, `requestParameters.loggingConfig.${f}`)),
    });
  }
}

const MODEL_ACCESS_EVENTS: Record<string, string> = {
  // Retired (models are enabled automatically now); still recognized in history.
  PutFoundationModelEntitlement: 'entitlement',
  CreateFoundationModelAgreement: 'agreement',
  PutUseCaseForModelAccess: 'use-case form',
};

/**
 * An account's access to one model, as an inventory item. Agreements have no ARN of their own:
 * this identifier is ai-visibility's, in the account and region the agreement was made in (as the
 * invocation-logging configuration's is).
 */
export function modelAgreementArn(e: NormalizedEvent, modelId: string): string {
  return `arn:${e.partition}:bedrock:${e.region}:${e.account}:foundation-model-agreement/${modelId}`;
}

function modelAccess(c: Collector): void {
  const how = MODEL_ACCESS_EVENTS[c.event.eventName];
  const path = str(c.event.record, 'requestParameters.modelId') ? 'requestParameters.modelId' : 'responseElements.modelId';
  const m = model(c, path);
  const resource = m?.arn ?? `arn:${c.event.partition}:bedrock:${c.event.region}::foundation-model/*`;
  const modelId = str(c.event.record, path);
  if (modelId) c.resource('model-agreement', modelAgreementArn(c.event, modelId), { signals: [fieldSignal(c.event, path, `model access by ${how}`)], attributes: { modelId, grantedBy: how } });
  c.finding('model-access-enabled', {
    resource,
    summary: `Foundation model access was enabled by ${how}${m ? ` for ${resource}` : ''}: new models can now be invoked (a step attackers take after stealing keys to run LLMjacking).`,
    signals: [eventSignal(c.event, how), ...(m ? [fieldSignal(c.event, path)] : [])],
  });
}

/** An agreement deleted: the account no longer has the model (its item says so; nothing to alert on). */
function modelAgreementDeleted(c: Collector): void {
  const modelId = str(c.event.record, 'requestParameters.modelId');
  if (!modelId) return;
  c.resource('model-agreement', modelAgreementArn(c.event, modelId), { status: 'deleted', signals: [fieldSignal(c.event, 'requestParameters.modelId', 'model access removed')], attributes: { modelId } });
}

/**
 * The account-region's enforced guardrail (Bedrock API Reference,
 * "PutEnforcedGuardrailConfiguration": `configId`, `guardrailInferenceConfig` with the guardrail,
 * its numbered version, the models it covers or skips, and selective content guarding). A Put
 * that names an existing `configId` changes it; one without makes a new one. The configuration
 * has no ARN: this identifier is ai-visibility's.
 */
function enforcedGuardrailArn(e: NormalizedEvent, configId: string): string {
  return `arn:${e.partition}:bedrock:${e.region}:${e.account}:enforced-guardrail-configuration/${configId}`;
}

function enforcedGuardrailPut(c: Collector): void {
  const e = c.event;
  if (e.errorCode) return; // refused: nothing was enforced or changed
  const requested = str(e.record, 'requestParameters.configId');
  const configId = str(e.record, 'responseElements.configId') ?? requested;
  if (!configId) return;
  const arn = enforcedGuardrailArn(e, configId);
  const cfg = 'requestParameters.guardrailInferenceConfig';
  const guardrailId = str(e.record, `${cfg}.guardrailIdentifier`);
  const guardrailArn = guardrailId ? kindOfArn(arnOrBuild(guardrailId, (g) => bedrockArn(e, 'guardrail', g)))?.arn : undefined;
  const version = str(e.record, `${cfg}.guardrailVersion`);
  const excluded = list(e.record, `${cfg}.modelEnforcement.excludedModels`).filter((m): m is string => typeof m === 'string');
  const included = list(e.record, `${cfg}.modelEnforcement.includedModels`).filter((m): m is string => typeof m === 'string');
  c.resource('enforced-guardrail-config', arn, {
    signals: [eventSignal(e, 'enforced guardrail set'), ...(guardrailId ? [fieldSignal(e, `${cfg}.guardrailIdentifier`)] : [])],
    attributes: {
      configId,
      guardrail: guardrailArn ?? guardrailId,
      guardrailVersion: version,
      ...(excluded.length ? { excludedModels: excluded } : {}),
      ...(included.length ? { includedModels: included } : {}),
      messages: str(e.record, `${cfg}.selectiveContentGuarding.messages`),
      system: str(e.record, `${cfg}.selectiveContentGuarding.system`),
    },
  });
  if (guardrailArn) c.resource('guardrail', guardrailArn, { signals: [fieldSignal(e, `${cfg}.guardrailIdentifier`, 'enforced on every invocation of the account-region')] });
  if (!requested) return;
  // A change: which guardrail and version were enforced before is the item's history, not this event's.
  const exempt = excluded.length > 0 || included.length > 0;
  c.finding('enforced-guardrail-changed', {
    resource: arn,
    ...(exempt ? { severity: 'high' as const } : {}),
    confidence: 'possible',
    summary: `The enforced guardrail ${configId} now enforces ${guardrailArn ?? guardrailId ?? 'an unnamed guardrail'}${version ? ` version ${version}` : ''}${excluded.length ? `, exempting ${excluded.join(', ')}` : ''}${included.length ? `, only on ${included.join(', ')}` : ''}: compare it with what it enforced before.`,
    signals: [eventSignal(e, 'enforced guardrail changed'), fieldSignal(e, 'requestParameters.configId'), ...(guardrailId ? [fieldSignal(e, `${cfg}.guardrailIdentifier`)] : []), ...(version ? [fieldSignal(e, `${cfg}.guardrailVersion`)] : []), ...(excluded.length ? [fieldSignal(e, `${cfg}.modelEnforcement.excludedModels`)] : []), ...(included.length ? [fieldSignal(e, `${cfg}.modelEnforcement.includedModels`)] : [])],
  });
}

function enforcedGuardrailDeleted(c: Collector): void {
  if (c.event.errorCode) return; // refused: the enforcement stands
  const configId = str(c.event.record, 'requestParameters.configId');
  const arn = configId ? enforcedGuardrailArn(c.event, configId) : `arn:${c.event.partition}:bedrock:${c.event.region}:${c.event.account}:enforced-guardrail-configuration/*`;
  if (configId) c.resource('enforced-guardrail-config', arn, { status: 'deleted', signals: [fieldSignal(c.event, 'requestParameters.configId', 'enforced guardrail removed')] });
  c.finding('enforced-guardrail-removed', {
    resource: arn,
    summary: `The enforced guardrail${configId ? ` ${configId}` : ''} of ${c.event.account} in ${c.event.region} was removed: model invocations there no longer pass through it.`,
    signals: [eventSignal(c.event, 'enforced guardrail removed'), ...(configId ? [fieldSignal(c.event, 'requestParameters.configId')] : [])],
  });
}

const WEAK_STRENGTHS = new Set(['NONE', 'LOW']);

function guardrail(c: Collector): void {
  const { eventName } = c.event;
  const found = idOrArn(c, ['responseElements.guardrailArn'], ['requestParameters.guardrailIdentifier'], (id) => bedrockArn(c.event, 'guardrail', id));
  if (!found) return;
  const arn = kindOfArn(found.arn)?.arn ?? found.arn;
  const version = str(c.event.record, 'requestParameters.guardrailVersion');

  if (eventName === 'DeleteGuardrail') {
    // With guardrailVersion only that version goes; without it the whole guardrail does.
    if (!version) c.resource('guardrail', arn, { status: 'deleted', signals: [eventSignal(c.event), found.signal] });
    else c.resource('guardrail', arn, { signals: [eventSignal(c.event), found.signal], attributes: { lastDeletedVersion: version } });
    c.finding('guardrail-deleted', {
      resource: arn,
      summary: version
        ? `Version ${version} of guardrail ${arn} was deleted: applications pinned to it lose their protection.`
        : `Guardrail ${arn} was deleted: models and agents that used it now run unfiltered.`,
      signals: [eventSignal(c.event), found.signal, ...(version ? [fieldSignal(c.event, 'requestParameters.guardrailVersion')] : [])],
    });
    return;
  }

  const req = c.event.record.requestParameters ?? {};
  const policies = ['contentPolicyConfig', 'topicPolicyConfig', 'wordPolicyConfig', 'sensitiveInformationPolicyConfig', 'contextualGroundingPolicyConfig'];
  const present = policies.filter((p) => at(req, p) !== undefined && at(req, p) !== null);
  c.resource('guardrail', arn, {
    signals: [eventSignal(c.event), found.signal],
    attributes: { version: str(c.event.record, 'responseElements.version'), ...(present.length ? { policies: present } : {}) },
  });
  if (eventName !== 'UpdateGuardrail') return;

  const weak: Signal[] = [];
  for (const [i, filter] of list(req, 'contentPolicyConfig.filtersConfig').entries()) {
    for (const side of ['inputStrength', 'outputStrength']) {
      const strength = str(filter, side);
      if (strength && WEAK_STRENGTHS.has(strength)) {
        weak.push(signal(c.event, `requestParameters.contentPolicyConfig.filtersConfig.${i}.${side}`, strength, `${str(filter, 'type') ?? 'filter'} set to ${strength}`));
      }
    }
  }
  if (weak.length > 0) {
    c.finding('guardrail-weakened', {
      resource: arn,
      summary: `Guardrail ${arn} was updated with content filters at NONE or LOW strength.`,
      signals: [eventSignal(c.event), ...weak],
    });
  } else if (present.length === 0) {
    // UpdateGuardrail replaces the whole configuration. CloudTrail does not log the policies,
    // so the change cannot be vetted: report it as a possible weakening, not a confirmed one.
    c.finding('guardrail-weakened', {
      resource: arn,
      confidence: 'possible',
      summary: `Guardrail ${arn} was updated; CloudTrail does not show its new policies, so the change cannot be confirmed safe.`,
      signals: [eventSignal(c.event), signal(c.event, 'requestParameters', Object.keys(req).join(','), 'no policy configuration in the logged request')],
    });
  }
}

const s3Uri = (e: NormalizedEvent, path: string) => str(e.record, path);

export const BEDROCK_RULES: Record<string, Rule> = {
  // Runtime: read-only management events carrying only the model id.
  InvokeModel: invocation('requestParameters.modelId'),
  InvokeModelWithResponseStream: invocation('requestParameters.modelId'),
  InvokeModelWithBidirectionalStream: invocation('requestParameters.modelId'),
  Converse: invocation('requestParameters.modelId'),
  ConverseStream: invocation('requestParameters.modelId'),
  StartAsyncInvoke: invocation('requestParameters.modelId'),
  CountTokens: (c) => void model(c, 'requestParameters.modelId'),

  // Agent runtime (data events: need the opt-in trail).
  InvokeAgent: (c) => {
    const agentId = str(c.event.record, 'requestParameters.agentId');
    const aliasId = str(c.event.record, 'requestParameters.agentAliasId');
    if (agentId && aliasId) {
      c.resource('agent-alias', bedrockArn(c.event, 'agent-alias', `${agentId}/${aliasId}`), {
        signals: [fieldSignal(c.event, 'requestParameters.agentId'), fieldSignal(c.event, 'requestParameters.agentAliasId')],
      });
    }
    c.invokesModel(eventSignal(c.event, 'invokes an agent'));
  },
  InvokeInlineAgent: invocation('requestParameters.foundationModel'),
  Retrieve: (c) => {
    const kb = str(c.event.record, 'requestParameters.knowledgeBaseId');
    if (kb) c.resource('knowledge-base', bedrockArn(c.event, 'knowledge-base', kb), { signals: [fieldSignal(c.event, 'requestParameters.knowledgeBaseId')] });
  },
  RetrieveAndGenerate: (c) => {
    const kbPath = 'requestParameters.retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.knowledgeBaseId';
    const kb = str(c.event.record, kbPath);
    if (kb) c.resource('knowledge-base', bedrockArn(c.event, 'knowledge-base', kb), { signals: [fieldSignal(c.event, kbPath)] });
    invocation('requestParameters.retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.modelArn')(c);
  },
  InvokeFlow: (c) => {
    const flow = str(c.event.record, 'requestParameters.flowIdentifier');
    if (flow) c.resource('flow', arnOrBuild(flow, (id) => bedrockArn(c.event, 'flow', id)), { signals: [fieldSignal(c.event, 'requestParameters.flowIdentifier')] });
    c.invokesModel(eventSignal(c.event, 'invokes a prompt flow'));
  },

  // Customization, import, batch inference.
  CreateModelCustomizationJob: (c) => {
    lifecycle('customization-job', 'model-customization-job', ['responseElements.jobArn'], [], {
      attributes: (e) => ({
        customModelName: str(e.record, 'requestParameters.customModelName'),
        customizationType: str(e.record, 'requestParameters.customizationType'),
        baseModelIdentifier: str(e.record, 'requestParameters.baseModelIdentifier'),
        trainingDataS3Uri: s3Uri(e, 'requestParameters.trainingDataConfig.s3Uri'),
        outputDataS3Uri: s3Uri(e, 'requestParameters.outputDataConfig.s3Uri'),
        roleArn: str(e.record, 'requestParameters.roleArn'),
      }),
    })(c);
    model(c, 'requestParameters.baseModelIdentifier');
    c.invokesModel(eventSignal(c.event, 'customizes a model'));
  },
  // Not a CloudTrail record: the job's EventBridge state change (normalize.ts), which names the custom model it produced.
  ModelCustomizationJobStateChange: (c) => {
    const details = at(c.event.record, 'serviceEventDetails');
    const job = str(details, 'jobArn');
    if (!job) return;
    const status = str(details, 'jobStatus');
    c.resource('customization-job', kindOfArn(job)?.arn ?? job, {
      signals: [eventSignal(c.event), fieldSignal(c.event, 'serviceEventDetails.jobArn'), fieldSignal(c.event, 'serviceEventDetails.jobStatus')],
      attributes: { jobState: status, customModelName: str(details, 'outputModelName') },
    });
    const model = str(details, 'outputModelArn');
    if (model && status === 'Completed') {
      c.resource('custom-model', kindOfArn(model)?.arn ?? model, {
        signals: [fieldSignal(c.event, 'serviceEventDetails.outputModelArn', 'produced by the customization job')],
        attributes: { modelName: str(details, 'outputModelName'), customizationJobArn: kindOfArn(job)?.arn ?? job },
      });
    }
  },
  StopModelCustomizationJob: lifecycle('customization-job', 'model-customization-job', [], ['requestParameters.jobIdentifier'], {
    attributes: () => ({ jobState: 'Stopping' }),
  }),
  CreateModelImportJob: lifecycle('model-import-job', 'model-import-job', ['responseElements.jobArn'], [], {
    attributes: (e) => ({
      importedModelName: str(e.record, 'requestParameters.importedModelName'),
      modelDataS3Uri: s3Uri(e, 'requestParameters.modelDataSource.s3DataSource.s3Uri'),
      roleArn: str(e.record, 'requestParameters.roleArn'),
    }),
  }),
  CreateCustomModel: lifecycle('custom-model', 'custom-model', ['responseElements.modelArn'], [], {
    attributes: (e) => ({ modelName: str(e.record, 'requestParameters.modelName'), modelDataS3Uri: s3Uri(e, 'requestParameters.modelSourceConfig.s3DataSource.s3Uri') }),
  }),
  DeleteCustomModel: (c) => {
    const id = str(c.event.record, 'requestParameters.modelIdentifier');
    // A name cannot be turned into the custom-model ARN (it embeds the base model and an id).
    if (id?.startsWith('arn:')) c.resource('custom-model', id, { status: 'deleted', signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.modelIdentifier')] });
  },
  DeleteImportedModel: (c) => {
    const id = str(c.event.record, 'requestParameters.modelIdentifier');
    if (id?.startsWith('arn:')) c.resource('imported-model', id, { status: 'deleted', signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.modelIdentifier')] });
  },
  CreateModelInvocationJob: (c) => {
    lifecycle('batch-inference-job', 'model-invocation-job', ['responseElements.jobArn'], [], {
      attributes: (e) => ({
        jobName: str(e.record, 'requestParameters.jobName'),
        inputS3Uri: s3Uri(e, 'requestParameters.inputDataConfig.s3InputDataConfig.s3Uri'),
        outputS3Uri: s3Uri(e, 'requestParameters.outputDataConfig.s3OutputDataConfig.s3Uri'),
        roleArn: str(e.record, 'requestParameters.roleArn'),
      }),
    })(c);
    invocation('requestParameters.modelId')(c);
  },
  StopModelInvocationJob: lifecycle('batch-inference-job', 'model-invocation-job', [], ['requestParameters.jobIdentifier'], {
    attributes: () => ({ jobState: 'Stopping' }),
  }),

  // Provisioned throughput and inference profiles.
  CreateProvisionedModelThroughput: (c) => {
    lifecycle('provisioned-throughput', 'provisioned-model', ['responseElements.provisionedModelArn'], [], {
      attributes: (e) => ({
        provisionedModelName: str(e.record, 'requestParameters.provisionedModelName'),
        modelUnits: at(e.record, 'requestParameters.modelUnits') as number | undefined,
        commitmentDuration: str(e.record, 'requestParameters.commitmentDuration'),
        modelId: str(e.record, 'requestParameters.modelId'),
      }),
    })(c);
    model(c, 'requestParameters.modelId');
  },
  UpdateProvisionedModelThroughput: lifecycle('provisioned-throughput', 'provisioned-model', [], ['requestParameters.provisionedModelId'], {
    attributes: (e) => ({ modelId: str(e.record, 'requestParameters.desiredModelId') }),
  }),
  DeleteProvisionedModelThroughput: lifecycle('provisioned-throughput', 'provisioned-model', [], ['requestParameters.provisionedModelId'], { status: 'deleted' }),
  CreateInferenceProfile: lifecycle('inference-profile', 'application-inference-profile', ['responseElements.inferenceProfileArn'], [], {
    attributes: (e) => ({ inferenceProfileName: str(e.record, 'requestParameters.inferenceProfileName'), copyFrom: str(e.record, 'requestParameters.modelSource.copyFrom') }),
  }),
  DeleteInferenceProfile: lifecycle('inference-profile', 'application-inference-profile', [], ['requestParameters.inferenceProfileIdentifier'], { status: 'deleted' }),

  // Guardrails.
  CreateGuardrail: guardrail,
  UpdateGuardrail: guardrail,
  DeleteGuardrail: guardrail,
  CreateGuardrailVersion: guardrail,
  ApplyGuardrail: (c) => {
    const id = str(c.event.record, 'requestParameters.guardrailIdentifier');
    if (id) c.resource('guardrail', kindOfArn(arnOrBuild(id, (g) => bedrockArn(c.event, 'guardrail', g)))?.arn ?? id, { signals: [fieldSignal(c.event, 'requestParameters.guardrailIdentifier')] });
  },

  // Enforced guardrails.
  PutEnforcedGuardrailConfiguration: enforcedGuardrailPut,
  DeleteEnforcedGuardrailConfiguration: enforcedGuardrailDeleted,

  // Invocation logging.
  PutModelInvocationLoggingConfiguration: loggingConfig,
  DeleteModelInvocationLoggingConfiguration: loggingConfig,
  GetModelInvocationLoggingConfiguration: (c) => {
    c.resource('invocation-logging-config', LOGGING_CONFIG(c.event), { signals: [eventSignal(c.event, 'logging configuration read')] });
  },

  // Model access.
  PutFoundationModelEntitlement: modelAccess,
  CreateFoundationModelAgreement: modelAccess,
  PutUseCaseForModelAccess: modelAccess,
  DeleteFoundationModelAgreement: modelAgreementDeleted,

  // Agents.
  CreateAgent: (c) => {
    lifecycle('agent', 'agent', ['responseElements.agent.agentArn'], ['responseElements.agent.agentId'], {
      attributes: (e) => ({
        agentName: str(e.record, 'requestParameters.agentName') ?? str(e.record, 'responseElements.agent.agentName'),
        foundationModel: str(e.record, 'requestParameters.foundationModel'),
        agentResourceRoleArn: str(e.record, 'requestParameters.agentResourceRoleArn') ?? str(e.record, 'responseElements.agent.agentResourceRoleArn'),
        guardrailIdentifier: str(e.record, 'requestParameters.guardrailConfiguration.guardrailIdentifier'),
      }),
    })(c);
    model(c, 'requestParameters.foundationModel');
  },
  UpdateAgent: (c) => {
    lifecycle('agent', 'agent', ['responseElements.agent.agentArn'], ['requestParameters.agentId'], {
      attributes: (e) => ({
        foundationModel: str(e.record, 'requestParameters.foundationModel'),
        agentResourceRoleArn: str(e.record, 'requestParameters.agentResourceRoleArn'),
        guardrailIdentifier: str(e.record, 'requestParameters.guardrailConfiguration.guardrailIdentifier'),
      }),
    })(c);
    model(c, 'requestParameters.foundationModel');
  },
  DeleteAgent: lifecycle('agent', 'agent', [], ['requestParameters.agentId'], { status: 'deleted' }),
  PrepareAgent: lifecycle('agent', 'agent', [], ['requestParameters.agentId']),
  CreateAgentAlias: lifecycle('agent-alias', 'agent-alias', ['responseElements.agentAlias.agentAliasArn'], []),
  UpdateAgentAlias: lifecycle('agent-alias', 'agent-alias', ['responseElements.agentAlias.agentAliasArn'], []),
  DeleteAgentAlias: (c) => {
    const agentId = str(c.event.record, 'requestParameters.agentId');
    const aliasId = str(c.event.record, 'requestParameters.agentAliasId');
    if (agentId && aliasId) {
      c.resource('agent-alias', bedrockArn(c.event, 'agent-alias', `${agentId}/${aliasId}`), {
        status: 'deleted',
        signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.agentId'), fieldSignal(c.event, 'requestParameters.agentAliasId')],
      });
    }
  },
  CreateAgentActionGroup: (c) => {
    const agentId = str(c.event.record, 'requestParameters.agentId');
    if (!agentId) return;
    c.resource('agent', bedrockArn(c.event, 'agent', agentId), {
      signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.agentId')],
      attributes: { lastActionGroupLambda: str(c.event.record, 'requestParameters.actionGroupExecutor.lambda') },
    });
  },
  AssociateAgentKnowledgeBase: (c) => {
    const agentId = str(c.event.record, 'requestParameters.agentId');
    const kbId = str(c.event.record, 'requestParameters.knowledgeBaseId');
    if (agentId) c.resource('agent', bedrockArn(c.event, 'agent', agentId), { signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.agentId')] });
    if (kbId) c.resource('knowledge-base', bedrockArn(c.event, 'knowledge-base', kbId), { signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.knowledgeBaseId')] });
  },

  // Knowledge bases.
  CreateKnowledgeBase: (c) => {
    lifecycle('knowledge-base', 'knowledge-base', ['responseElements.knowledgeBase.knowledgeBaseArn'], ['responseElements.knowledgeBase.knowledgeBaseId'], {
      attributes: (e) => ({
        name: str(e.record, 'requestParameters.name'),
        roleArn: str(e.record, 'requestParameters.roleArn'),
        embeddingModelArn: str(e.record, 'requestParameters.knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn'),
        storageType: str(e.record, 'requestParameters.storageConfiguration.type'),
      }),
    })(c);
    model(c, 'requestParameters.knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn');
  },
  UpdateKnowledgeBase: lifecycle('knowledge-base', 'knowledge-base', ['responseElements.knowledgeBase.knowledgeBaseArn'], ['requestParameters.knowledgeBaseId']),
  DeleteKnowledgeBase: lifecycle('knowledge-base', 'knowledge-base', [], ['requestParameters.knowledgeBaseId'], { status: 'deleted' }),
  CreateDataSource: lifecycle('knowledge-base', 'knowledge-base', [], ['requestParameters.knowledgeBaseId'], {
    attributes: (e) => ({ lastDataSourceBucketArn: str(e.record, 'requestParameters.dataSourceConfiguration.s3Configuration.bucketArn') }),
  }),
  StartIngestionJob: lifecycle('knowledge-base', 'knowledge-base', [], ['requestParameters.knowledgeBaseId']),

  // Flows.
  CreateFlow: lifecycle('flow', 'flow', ['responseElements.arn'], ['responseElements.id'], {
    attributes: (e) => ({ name: str(e.record, 'requestParameters.name'), executionRoleArn: str(e.record, 'requestParameters.executionRoleArn') }),
  }),
  UpdateFlow: lifecycle('flow', 'flow', ['responseElements.arn'], ['requestParameters.flowIdentifier']),
  DeleteFlow: lifecycle('flow', 'flow', [], ['requestParameters.flowIdentifier'], { status: 'deleted' }),
};
