// The upstream phoenix 1.8.16 JavaScript client, unmodified: Socket + channel join, raw postgres_changes payloads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Inbox, startHost } from './lib/host.mjs';
import { joined, phoenixSocket } from './lib/phoenix.mjs';

let host;
before(async () => { host = await startHost(); });
after(async () => { await host?.stop(); });

test('phoenix.js joins a config-less topic and receives the raw payload: {ids, data} plus the flat fields and seq', async (t) => {
  const socket = phoenixSocket(t, host);
  const channel = socket.channel('realtime:public:orders', {});
  const changes = new Inbox();
  const system = new Inbox();
  channel.on('postgres_changes', (payload) => changes.push(payload));
  channel.on('system', (payload) => system.push(payload));
  const response = await joined(channel);
  assert.deepEqual(response, {});
  const subscribed = await system.take(() => true, 10_000, 'system message');
  assert.deepEqual(subscribed, { extension: 'postgres_changes', status: 'ok', message: 'Subscribed to PostgreSQL', channel: 'public:orders' });

  const seq = await host.notify({ table: 'orders', type: 'INSERT', record: { id: 5, customer: 'Eve', total: 12.5 } });
  const payload = await changes.take(() => true, 10_000, 'postgres_changes');
  assert.equal(payload.ids.length, 1);
  assert.equal(typeof payload.ids[0], 'number');
  assert.equal(payload.data.type, 'INSERT');
  assert.deepEqual(payload.data.record, { id: 5, customer: 'Eve', total: 12.5 });
  assert.equal(payload.data.old_record, null);
  assert.ok(Array.isArray(payload.data.columns) && payload.data.columns.some((c) => c.name === 'total' && c.type === 'numeric'));
  // The flat mirror for hand-written clients, and the change's sequence number.
  assert.equal(payload.type, 'INSERT');
  assert.equal(payload.table, 'orders');
  assert.deepEqual(payload.record, payload.data.record);
  assert.equal(payload.seq, seq);
});

test('phoenix.js joins with config.postgres_changes and gets the bindings back in order with stable integer ids', async (t) => {
  const socket = phoenixSocket(t, host);
  const bindings = [
    { event: 'UPDATE', schema: 'public', table: 'orders', filter: 'status=eq.paid' },
    { event: '*', schema: 'public', table: 'todos' },
  ];
  const first = socket.channel('realtime:room-a', { config: { postgres_changes: bindings } });
  const second = socket.channel('realtime:room-b', { config: { postgres_changes: [bindings[1]] } });
  const a = await joined(first);
  const b = await joined(second);
  assert.deepEqual(a.postgres_changes.map(({ id, ...rest }) => rest), bindings);
  for (const binding of a.postgres_changes) {
    assert.ok(Number.isInteger(binding.id) && binding.id >= 0 && binding.id < 2 ** 27);
  }
  assert.notEqual(a.postgres_changes[0].id, a.postgres_changes[1].id);
  assert.equal(b.postgres_changes[0].id, a.postgres_changes[1].id, 'identical bindings get identical ids');

  const changes = new Inbox();
  first.on('postgres_changes', (p) => changes.push(p));
  await host.notify({ table: 'orders', type: 'UPDATE', record: { id: 1, status: 'pending' }, old_record: { id: 1 } });
  await host.notify({ table: 'orders', type: 'UPDATE', record: { id: 1, status: 'paid' }, old_record: { id: 1 } });
  const got = await changes.take(() => true, 10_000, 'filtered UPDATE');
  assert.deepEqual(got.ids, [a.postgres_changes[0].id]);
  assert.equal(got.data.record.status, 'paid');

  const left = await new Promise((resolvePromise) => first.leave().receive('ok', () => resolvePromise('ok')));
  assert.equal(left, 'ok');
});
