/**
 * The item module: every table item's type, builder and reader, and the only place where item
 * keys and index keys are spelled (docs/data-model.md). Pure: no SDK; the store
 * (../inventory-store.ts) writes what the builders make.
 */
export * from './keys';
export * from './read';
export * from './inventory';
export * from './agents';
export * from './lineage';
export * from './tagging';
export * from './accounts';
export * from './model-use';
