/**
 * EC2 (`ec2.amazonaws.com`): GPU and accelerator instances.
 *
 * RunInstances names the type in `requestParameters.instanceType` (some exporters wrap it as
 * `{"value": ...}`) or, for launch-template launches, only in
 * `responseElements.instancesSet.items[].instanceType`. CreateFleet and RequestSpotInstances
 * nest it in their launch specifications; CreateFleet also reports per-override failures in
 * `CreateFleetResponse.errorSet` while the call itself succeeds. Start/Stop/TerminateInstances
 * name only instance ids: they update instances the inventory already knows as GPU instances, and
 * so do CreateTags/DeleteTags that set or remove a control tag.
 */
import { ec2InstanceArn } from '../../core/arn';
import type { Collector } from '../collector';
import { at, eventSignal, list, signal, str } from '../evidence';
import type { Signal } from '../../core/model';
import type { Rule } from './bedrock';
import { controlTagsOf } from '../tags';

/** p*, g*, gr*, inf*, trn*, dl* families, e.g. p5.48xlarge, g5g.xlarge, p6-b200.48xlarge, trn2.48xlarge. */
export const GPU_INSTANCE_TYPE = /^(?:p|g|gr|inf|trn|dl)\d[a-z0-9-]*\.[a-z0-9]+$/i;

/** Error codes meaning "not allowed" (permissions) or "not this much" (quotas). */
const REFUSALS = new Set([
  'UnauthorizedOperation',
  'AccessDenied',
  'AccessDeniedException',
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'MaxSpotInstanceCountExceeded',
  'PendingVerification',
]);

export function isRefusal(errorCode: string | undefined): boolean {
  return errorCode !== undefined && REFUSALS.has(errorCode.replace(/^(?:Client|Server)\./, ''));
}

interface TypeSighting {
  readonly type: string;
  readonly signal: Signal;
}

function typeAt(c: Collector, path: string): TypeSighting | undefined {
  const raw = at(c.event.record, path);
  const value = typeof raw === 'string' ? raw : str(raw, 'value');
  if (!value) return undefined;
  const shown = typeof raw === 'string' ? path : `${path}.value`;
  return { type: value, signal: signal(c.event, shown, value) };
}

function refused(c: Collector, types: readonly TypeSighting[], errorCode: string, errorSignal: Signal): void {
  const gpu = types.filter((t) => GPU_INSTANCE_TYPE.test(t.type));
  if (gpu.length === 0 || !isRefusal(errorCode)) return;
  const count = at(c.event.record, 'requestParameters.instancesSet.items.0.maxCount') ?? at(c.event.record, 'requestParameters.instanceCount');
  c.finding('gpu-launch-refused', {
    resource: `arn:${c.event.partition}:ec2:${c.event.region}:${c.event.account}:instance/*`,
    summary: `${c.event.eventName} of ${[...new Set(gpu.map((t) => t.type))].join(', ')}${typeof count === 'number' ? ` (up to ${count})` : ''} was refused with ${errorCode}: someone tried to get accelerators they are not allowed or not provisioned for.`,
    signals: [eventSignal(c.event), errorSignal, ...gpu.map((t) => t.signal)],
  });
}

function launchedInstances(c: Collector, items: readonly unknown[], basePath: string, fallbackType?: TypeSighting): void {
  for (const [i, item] of items.entries()) {
    const id = str(item, 'instanceId');
    const type = str(item, 'instanceType') ?? fallbackType?.type;
    if (!id || !type || !GPU_INSTANCE_TYPE.test(type)) continue;
    const typeSignal = str(item, 'instanceType') ? signal(c.event, `${basePath}.${i}.instanceType`, type) : fallbackType!.signal;
    c.resource('gpu-instance', ec2InstanceArn(c.event, id), {
      signals: [eventSignal(c.event), signal(c.event, `${basePath}.${i}.instanceId`, id), typeSignal],
      attributes: {
        instanceId: id,
        instanceType: type,
        instanceFamily: type.split('.')[0],
        instanceState: str(item, 'instanceState.name') ?? 'pending',
        imageId: str(item, 'imageId'),
        launchedBy: c.event.eventName,
      },
    });
  }
}

const runInstances: Rule = (c) => {
  const requested = typeAt(c, 'requestParameters.instanceType');
  const items = list(c.event.record, 'responseElements.instancesSet.items');
  const responseTypes = items
    .map((item, i) => ({ type: str(item, 'instanceType'), i }))
    .filter((t): t is { type: string; i: number } => t.type !== undefined)
    .map((t) => ({ type: t.type, signal: signal(c.event, `responseElements.instancesSet.items.${t.i}.instanceType`, t.type) }));
  const types = [...(requested ? [requested] : []), ...responseTypes];
  if (!types.some((t) => GPU_INSTANCE_TYPE.test(t.type))) return c.ignore('not a GPU/accelerator instance type');
  if (c.event.errorCode) return refused(c, types, c.event.errorCode, signal(c.event, 'errorCode', c.event.errorCode));
  launchedInstances(c, items, 'responseElements.instancesSet.items', requested);
};

const requestSpotInstances: Rule = (c) => {
  const requested = typeAt(c, 'requestParameters.launchSpecification.instanceType');
  if (!requested || !GPU_INSTANCE_TYPE.test(requested.type)) return c.ignore('not a GPU/accelerator instance type');
  if (c.event.errorCode) refused(c, [requested], c.event.errorCode, signal(c.event, 'errorCode', c.event.errorCode));
  // A spot request creates no instance yet; the instances appear in their own RunInstances events.
};

const createFleet: Rule = (c) => {
  const requested: TypeSighting[] = [];
  for (const [i, config] of list(c.event.record, 'requestParameters.CreateFleetRequest.LaunchTemplateConfigs').entries()) {
    for (const [j, override] of list(config, 'Overrides').entries()) {
      const type = str(override, 'InstanceType');
      if (type) requested.push({ type, signal: signal(c.event, `requestParameters.CreateFleetRequest.LaunchTemplateConfigs.${i}.Overrides.${j}.InstanceType`, type) });
    }
  }
  const launched = list(c.event.record, 'responseElements.CreateFleetResponse.fleetInstanceSet.item');
  const launchedTypes = launched
    .map((item, i) => ({ type: str(item, 'instanceType'), i }))
    .filter((t): t is { type: string; i: number } => t.type !== undefined)
    .map((t) => ({ type: t.type, signal: signal(c.event, `responseElements.CreateFleetResponse.fleetInstanceSet.item.${t.i}.instanceType`, t.type) }));
  const types = [...requested, ...launchedTypes];
  if (!types.some((t) => GPU_INSTANCE_TYPE.test(t.type))) return c.ignore('not a GPU/accelerator instance type');
  if (c.event.errorCode) return refused(c, types, c.event.errorCode, signal(c.event, 'errorCode', c.event.errorCode));

  for (const [i, item] of launched.entries()) {
    const type = str(item, 'instanceType');
    const ids = list(item, 'instanceIds.item').filter((id): id is string => typeof id === 'string');
    launchedInstances(
      c,
      ids.map((instanceId) => ({ instanceId, instanceType: type })),
      `responseElements.CreateFleetResponse.fleetInstanceSet.item.${i}.instanceIds`,
    );
  }
  // An instant fleet reports refused overrides in errorSet while the call succeeds.
  for (const [i, error] of list(c.event.record, 'responseElements.CreateFleetResponse.errorSet.item').entries()) {
    const code = str(error, 'errorCode');
    const type = str(error, 'launchTemplateAndOverrides.overrides.instanceType');
    if (code && type) {
      refused(
        c,
        [{ type, signal: signal(c.event, `responseElements.CreateFleetResponse.errorSet.item.${i}.launchTemplateAndOverrides.overrides.instanceType`, type) }],
        code,
        signal(c.event, `responseElements.CreateFleetResponse.errorSet.item.${i}.errorCode`, code),
      );
    }
  }
};

const STATE_AFTER: Record<string, string> = { StartInstances: 'pending', StopInstances: 'stopping', TerminateInstances: 'shutting-down' };

const stateChange: Rule = (c) => {
  if (c.event.errorCode) return c.ignore(`failed ${c.event.eventName} changes no instance`);
  const requested = list(c.event.record, 'requestParameters.instancesSet.items');
  const responded = list(c.event.record, 'responseElements.instancesSet.items');
  for (const [i, item] of requested.entries()) {
    const id = str(item, 'instanceId');
    if (!id) continue;
    const after = responded.find((r) => str(r, 'instanceId') === id);
    const state = str(after, 'currentState.name') ?? STATE_AFTER[c.event.eventName];
    c.resource('gpu-instance', ec2InstanceArn(c.event, id), {
      onlyIfKnown: true,
      status: c.event.eventName === 'TerminateInstances' ? 'deleted' : 'active',
      signals: [eventSignal(c.event), signal(c.event, `requestParameters.instancesSet.items.${i}.instanceId`, id)],
      attributes: { instanceState: state },
    });
  }
};

/**
 * CreateTags/DeleteTags setting or removing a control tag (owner, ignore, expected-idle,
 * idle-action) on instances the inventory knows as GPU instances (the collector records them on
 * each); other resources and other tags are
 * ignored. Shape: `resourcesSet.items[].resourceId`, `tagSet.items[]` (EC2 API reference, CreateTags).
 */
const ownerTagChange: Rule = (c) => {
  if (c.event.errorCode) return c.ignore(`failed ${c.event.eventName} changes no tag`);
  if (controlTagsOf(c.event.record.requestParameters, c.event.eventName).length === 0) return c.ignore(`${c.event.eventName} touches no control tag`);
  for (const [i, item] of list(c.event.record, 'requestParameters.resourcesSet.items').entries()) {
    const id = str(item, 'resourceId');
    if (!id?.startsWith('i-')) continue;
    c.resource('gpu-instance', ec2InstanceArn(c.event, id), {
      onlyIfKnown: true,
      signals: [eventSignal(c.event), signal(c.event, `requestParameters.resourcesSet.items.${i}.resourceId`, id)],
    });
  }
  if (c.recordedResources === 0) c.ignore(`${c.event.eventName} tags no instance`);
};

export const EC2_RULES: Record<string, Rule> = {
  CreateTags: ownerTagChange,
  DeleteTags: ownerTagChange,
  RunInstances: runInstances,
  RequestSpotInstances: requestSpotInstances,
  CreateFleet: createFleet,
  StartInstances: stateChange,
  StopInstances: stateChange,
  TerminateInstances: stateChange,
};
