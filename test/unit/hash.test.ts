/**
 * The one SHA-256 helper (lambdas/core/hash.ts): the digest createHash gives, for the texts the
 * ids are made of (ASCII keys, the NUL separator, any Unicode, a long record), so every id a
 * stored item or domain event carries stays what it was.
 */
import { createHash } from 'node:crypto';
import { sha256Hex } from '../../lambdas/core/hash';

describe('sha256Hex', () => {
  it.each([
    ['empty', ''],
    ['a key', 'RES#arn:aws:bedrock:us-east-1:111122223333:agent/A1\u0000FINDING#2026-12-01T00:00:00Z'],
    ['Unicode', 'modèle 中文 \ud83d\ude00 \uffff'],
    ['a lone surrogate', 'a\ud800b'],
    ['a long record', JSON.stringify({ Records: Array.from({ length: 500 }, (_, i) => ({ eventID: String(i), eventName: 'InvokeModel' })) })],
  ])('gives createHash\'s digest (%s)', (_name, text) => {
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('is SHA-256 (the NIST test vector for "abc")', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
