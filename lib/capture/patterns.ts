/** The capture rules as data: they live in the domain core (the replay, the CDK app and the history import share them). */
export * from '../../lambdas/core/capture-patterns';
