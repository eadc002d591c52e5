import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/*
 * Each returns the registry's metric of that name, created on first use:
 * servers may be built twice on one registry.
 */

export function counterIn(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter {
  return (
    (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] })
  );
}

export function gaugeIn(registry: Registry, name: string, help: string): Gauge {
  return (registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [registry] });
}

export function histogramIn(registry: Registry, name: string, help: string, buckets: number[]): Histogram {
  return (
    (registry.getSingleMetric(name) as Histogram | undefined) ?? new Histogram({ name, help, buckets, registers: [registry] })
  );
}
