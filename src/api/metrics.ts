/** Prometheus metrics: request counts and latencies, and one gauge per machine and state. */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MachineCache } from '../inventory/machine-cache.js';
import { MACHINE_STATES } from '../inventory/model.js';

export function createMetrics(machines: MachineCache): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'yagura_' });
  new Counter({
    name: 'yagura_api_requests_total',
    help: 'API requests by method, route and status code.',
    labelNames: ['method', 'route', 'code'],
    registers: [registry],
  });
  new Histogram({
    name: 'yagura_api_request_duration_seconds',
    help: 'API request latency by method and route.',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'yagura_machine_state',
    help: 'Machine lifecycle state: 1 for the machine’s current state, 0 for the others.',
    labelNames: ['serial', 'rack', 'role', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { machine: m } of machines.all()) {
        for (const state of MACHINE_STATES) {
          this.set(
            { serial: m.spec.serial, rack: String(m.spec.rack), role: m.spec.role, state },
            m.status.state === state ? 1 : 0,
          );
        }
      }
    },
  });
  return registry;
}

/** Counts and times every request, labelled by its route pattern (not the raw URL). */
export function instrument(app: FastifyInstance, registry: Registry): void {
  const requests = registry.getSingleMetric('yagura_api_requests_total') as Counter;
  const latency = registry.getSingleMetric('yagura_api_request_duration_seconds') as Histogram;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, code: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
