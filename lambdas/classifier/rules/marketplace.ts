/**
 * AWS Marketplace agreements (`agreement-marketplace.amazonaws.com`). A third-party Bedrock model
 * is subscribed through AWS Marketplace: on its first invocation in an account Bedrock starts the
 * subscription itself (Bedrock User Guide, "Access Amazon Bedrock foundation models": automatic
 * model access), and a person can accept the model's offer in the Marketplace console; either way
 * the account accepts an agreement (`AcceptAgreementRequest`, the Marketplace Agreement API). The
 * request names the agreement request, not the product, so the finding is `possible`: a
 * Marketplace purchase of anything else looks the same, and agreements are rare enough to read.
 */
import { eventSignal, fieldSignal, str } from '../evidence';
import type { Rule } from './bedrock';

export const MARKETPLACE_RULES: Record<string, Rule> = {
  AcceptAgreementRequest: (c) => {
    const id = str(c.event.record, 'requestParameters.agreementRequestId');
    const agreement = str(c.event.record, 'responseElements.agreementId');
    c.finding('model-access-enabled', {
      resource: `arn:${c.event.partition}:bedrock:${c.event.region}::foundation-model/*`,
      confidence: 'possible',
      summary: `An AWS Marketplace agreement was accepted${agreement ? ` (${agreement})` : ''}: third-party Bedrock models are subscribed this way, so new models may now be invoked (check the agreement's product: it may be other software).`,
      signals: [eventSignal(c.event, 'Marketplace agreement accepted'), ...(id ? [fieldSignal(c.event, 'requestParameters.agreementRequestId')] : []), ...(agreement ? [fieldSignal(c.event, 'responseElements.agreementId')] : [])],
    });
  },
};
