/** The default event bus simulated: the capture rules and their matching (lambdas/shared/capture-rules.ts, which the history import uses too). */
export * from '../../lambdas/shared/capture-rules';
