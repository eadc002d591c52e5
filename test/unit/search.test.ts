import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Machine } from '../../src/inventory/model.js';
import { matchesQuery, parseMachineQuery, queryKey, type MachineQuery } from '../../src/inventory/search.js';

function machine(
  serial: string,
  rack: number,
  role: string,
  state: Machine['status']['state'],
  labels: Record<string, string>,
): Machine {
  return {
    spec: {
      serial,
      labels,
      rack,
      'index-in-rack': 4,
      role,
      ipv4: [`10.0.${rack}.${serial.length}`],
      ipv6: [],
      'register-date': '',
      'retire-date': '',
      bmc: { type: 'IPMI-2.0', ipv4: '', ipv6: '' },
    },
    status: { state, timestamp: '' },
    info: { network: { ipv4: [] }, bmc: { ipv4: { address: '', netmask: '', maskbits: 0, gateway: '' } } },
  };
}

const machines = [
  machine('a', 0, 'boot', 'healthy', { product: 'R640', dc: 'tokyo' }),
  machine('bb', 1, 'worker', 'healthy', { product: 'R650', dc: 'tokyo' }),
  machine('ccc', 1, 'worker', 'unhealthy', { product: 'R640', dc: 'osaka' }),
  machine('dddd', 2, 'ss', 'retired', { product: 'R650' }),
];

function search(params: Record<string, string>): string[] {
  const parsed = parseMachineQuery(params);
  if ('error' in parsed) throw new Error(parsed.error);
  return machines.filter((m) => matchesQuery(m, parsed.query)).map((m) => m.spec.serial);
}

describe('machine search', () => {
  it('ORs the comma-separated values of one parameter and ANDs parameters', () => {
    assert.deepEqual(search({ rack: '0,2' }), ['a', 'dddd']);
    assert.deepEqual(search({ rack: '1', state: 'healthy' }), ['bb']);
    assert.deepEqual(search({ role: 'boot,ss', state: 'retired' }), ['dddd']);
    assert.deepEqual(search({}), ['a', 'bb', 'ccc', 'dddd']);
  });

  it('needs every label pair to match', () => {
    assert.deepEqual(search({ labels: 'product=R640' }), ['a', 'ccc']);
    assert.deepEqual(search({ labels: 'product=R640,dc=tokyo' }), ['a']);
  });

  it('excludes with without- forms; without-labels only when every pair matches', () => {
    assert.deepEqual(search({ 'without-state': 'retired,unhealthy' }), ['a', 'bb']);
    assert.deepEqual(search({ 'without-labels': 'product=R640,dc=tokyo' }), ['bb', 'ccc', 'dddd']);
    assert.deepEqual(search({ rack: '1', 'without-role': 'boot' }), ['bb', 'ccc']);
    assert.deepEqual(search({ 'without-rack': '1', 'without-state': 'retired' }), ['a']);
  });

  it('matches any of a machine’s addresses', () => {
    assert.deepEqual(search({ ipv4: '10.0.1.2' }), ['bb']);
  });

  it('refuses contradictions, unknown parameters and bad values with the parameter named', () => {
    const error = (params: Record<string, string>) => parseMachineQuery(params) as { error: string; field: string };
    assert.equal(error({ state: 'healthy', 'without-state': 'retired' }).field, 'state');
    assert.match(error({ racks: '1' }).error, /unknown query parameter racks/);
    assert.equal(error({ rack: 'one' }).field, 'rack');
    assert.match(error({ state: 'sleepy' }).error, /unknown state sleepy/);
    assert.equal(error({ labels: 'product' }).field, 'labels');
    assert.equal(error({ role: '' }).field, 'role');
  });
});

describe('search answer cache keys', () => {
  const key = (params: Record<string, string>) => {
    const parsed = parseMachineQuery(params);
    assert.ok('query' in parsed);
    return queryKey(parsed.query as MachineQuery);
  };

  it('are equal for the same query written in another order, and differ for any other query', () => {
    assert.equal(key({ rack: '1,2', labels: 'a=1,b=2' }), key({ labels: 'b=2,a=1', rack: '2,1' }));
    const distinct = [
      key({}),
      key({ rack: '1' }),
      key({ rack: '2' }),
      key({ 'without-rack': '1' }),
      key({ labels: 'a=1' }),
      key({ 'without-labels': 'a=1' }),
      key({ labels: 'a=1,b=2' }),
      key({ role: 'boot' }),
      key({ rack: '1', role: 'boot' }),
    ];
    assert.equal(new Set(distinct).size, distinct.length);
  });
});
