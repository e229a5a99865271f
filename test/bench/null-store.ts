/** A store that writes nothing and reads nothing: for measuring everything before DynamoDB. */
import type { InventoryStore } from '../../lambdas/shared/inventory-store';

export const nullStore = (): InventoryStore => ({
  stats: { writeUnits: 0, readUnits: 0, requests: 0, conditionalFailures: 0 },
  writeEntity: async () => 'applied',
  putItems: async () => [],
  getItems: async () => new Map(),
  queryRange: async () => [],
  putIfRevision: async () => true,
  setFieldsIf: async () => true,
  putIfEarlier: async () => true,
});
