/**
 * Named groups of resource kinds and event sources, one home for each: the classifier, the agent
 * step, the lineage findings and the sweep ask "is this a model?" the same way.
 */
import type { ResourceKind } from './model';

type KindSet = ReadonlySet<string>;
const kinds = (...list: ResourceKind[]): KindSet => new Set(list);

/** What a model call can name: a base model, a trained or imported one, a profile, throughput. */
export const INVOCABLE_MODEL_KINDS: KindSet = kinds('foundation-model', 'custom-model', 'imported-model', 'inference-profile', 'provisioned-throughput');

/** Models trained or imported into an account: what data can be baked into. */
export const TRAINED_MODEL_KINDS: KindSet = kinds('model', 'custom-model', 'imported-model');

/** Jobs that train a model on data. */
export const TRAINING_KINDS: KindSet = kinds('training-job', 'customization-job');

/** What answers callers with a model or the data behind it. */
export const SERVING_KINDS: KindSet = kinds('inference-endpoint', 'agent', 'knowledge-base', 'provisioned-throughput');

/** The resources the GPU sweep measures. */
export const ACCELERATOR_KINDS = ['gpu-instance', 'inference-endpoint', 'training-job', 'notebook', 'provisioned-throughput'] as const satisfies readonly ResourceKind[];
export type AcceleratorKind = (typeof ACCELERATOR_KINDS)[number];

/** The AI services' CloudTrail event sources: a model call there is not "a write elsewhere". */
export const AI_EVENT_SOURCES: ReadonlySet<string> = new Set(['bedrock.amazonaws.com', 'bedrock-agentcore.amazonaws.com', 'sagemaker.amazonaws.com']);
