/** The read-only routes that report the machine's parts (hardware-resources.ts). */
import type { Part, PartKind } from '../hardware.js';
import { machineView, type ServiceContext } from './context.js';
import { resourceMissing } from './errors.js';
import { drive, memoryCollection, memoryModule, power, storage, storageCollection, thermal } from './hardware-resources.js';
import { PATHS, STORAGE_CONTROLLER_PATH } from './resources.js';
import type { RedfishReply, RedfishRequest, Route } from './router.js';

export function hardwareRoutes(context: ServiceContext): Route[] {
  const read = (build: (request: RedfishRequest) => unknown): Route['handlers'] => ({
    GET: (request): RedfishReply => ({ status: 200, body: build(request) }),
  });
  /** The part of `kind` whose Redfish Id is the request's `param`; 404 for any other. */
  const partOf = (request: RedfishRequest, kind: PartKind, param: string): Part => {
    const found = context.hardware.parts(kind).find((part) => part.redfishId === request.params[param]);
    if (found === undefined) throw resourceMissing(request.path);
    return found;
  };
  return [
    { path: PATHS.storage, handlers: read(() => storageCollection()) },
    { path: STORAGE_CONTROLLER_PATH, handlers: read(() => storage(machineView(context))) },
    {
      path: `${STORAGE_CONTROLLER_PATH}/Drives/:drive`,
      handlers: read((request) => drive(machineView(context), partOf(request, 'drive', 'drive'))),
    },
    { path: PATHS.memory, handlers: read(() => memoryCollection(machineView(context))) },
    {
      path: `${PATHS.memory}/:dimm`,
      handlers: read((request) => memoryModule(machineView(context), partOf(request, 'dimm', 'dimm'))),
    },
    { path: PATHS.power, handlers: read(() => power(machineView(context))) },
    { path: PATHS.thermal, handlers: read(() => thermal(machineView(context))) },
  ];
}
