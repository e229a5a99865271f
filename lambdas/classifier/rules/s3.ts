/**
 * S3 (`s3.amazonaws.com`): model files written to buckets, and bucket tag changes.
 *
 * Object writes are data events (`requestParameters.bucketName`, `requestParameters.key`); a
 * bucket that receives a model file is a model-artifact store. Bucket tag changes update buckets
 * the inventory knows; a tag under `ai-visibility:` declares the bucket itself, which is how
 * users bring a store into view before any model file lands in it.
 */
import { TAG_PREFIX } from '../../core/constants';
import { s3BucketArn } from '../../core/arn';
import { at, eventSignal, fieldSignal, list, str } from '../evidence';
import type { Rule } from './bedrock';

/** Keep in step with MODEL_FILE_SUFFIXES in lib/capture/patterns.ts (a test checks it). */
export const MODEL_FILE = /(?:\.safetensors|\.gguf|\.ggml|\.onnx|\.pt|\.pth|\.ckpt|\.h5|\.keras|\.tflite|\.mlmodel|\.joblib|\.pkl|\.pickle|model\.tar\.gz)$/i;

const objectWrite: Rule = (c) => {
  const bucket = str(c.event.record, 'requestParameters.bucketName');
  const key = str(c.event.record, 'requestParameters.key');
  if (!bucket || !key) return c.ignore('object write without bucketName/key');
  const format = MODEL_FILE.exec(key)?.[0];
  if (!format) return c.ignore('not a model file');
  c.resource('model-artifact-store', s3BucketArn(c.event, bucket), {
    signals: [eventSignal(c.event), fieldSignal(c.event, 'requestParameters.key', 'model file'), fieldSignal(c.event, 'requestParameters.bucketName')],
    attributes: { bucketName: bucket, lastModelKey: key, lastModelFormat: format.toLowerCase() },
  });
};

const bucketTagging: Rule = (c) => {
  const bucket = str(c.event.record, 'requestParameters.bucketName');
  if (!bucket) return c.ignore('bucket tagging without bucketName');
  const tags: Record<string, string> = {};
  const declared: string[] = [];
  if (c.event.eventName === 'PutBucketTagging') {
    for (const [i, tag] of list(c.event.record, 'requestParameters.Tagging.TagSet.Tag').entries()) {
      const k = str(tag, 'Key');
      if (!k) continue;
      tags[k] = typeof at(tag, 'Value') === 'string' ? (at(tag, 'Value') as string) : '';
      if (k.startsWith(TAG_PREFIX)) declared.push(`requestParameters.Tagging.TagSet.Tag.${i}.Key`);
    }
  }
  c.resource('model-artifact-store', s3BucketArn(c.event, bucket), {
    onlyIfKnown: declared.length === 0,
    signals: [
      eventSignal(c.event),
      fieldSignal(c.event, 'requestParameters.bucketName'),
      ...declared.map((path) => fieldSignal(c.event, path, 'declared by an ai-visibility tag')),
    ],
    attributes: { bucketName: bucket, tags },
  });
};

export const S3_RULES: Record<string, Rule> = {
  PutObject: objectWrite,
  CopyObject: objectWrite,
  CompleteMultipartUpload: objectWrite,
  PutBucketTagging: bucketTagging,
  DeleteBucketTagging: bucketTagging,
};
