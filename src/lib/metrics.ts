import { Counter, type Registry } from 'prom-client';

/** The registry's counter of that name, created on first use (servers may be built twice on one registry). */
export function counterIn(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter {
  return (
    (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] })
  );
}
