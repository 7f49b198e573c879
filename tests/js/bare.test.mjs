// A bare WebSocket (the `ws` package) replaying the tutorial's exact frames: vsn 1.0.0 object frames by default.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Inbox, startHost } from './lib/host.mjs';

let host;
before(async () => { host = await startHost(); });
after(async () => { await host?.stop(); });

async function open(t, query = '') {
  const ws = new WebSocket(host.wsUrl + query);
  const inbox = new Inbox();
  ws.on('message', (data, isBinary) => inbox.push({ isBinary, text: data.toString(), json: JSON.parse(data.toString()) }));
  await new Promise((resolvePromise, reject) => { ws.once('open', resolvePromise); ws.once('error', reject); });
  t.after(() => ws.terminate());
  return { ws, inbox, next: (predicate, what) => inbox.take((m) => predicate(m.json), 10_000, what).then((m) => { assert.equal(m.isBinary, false, 'text frames only'); return m.json; }) };
}

test('the tutorial wscat session: config-less join, three changes in order, heartbeat, leave', async (t) => {
  const { ws, next, inbox } = await open(t);
  ws.send('{"event":"phx_join","topic":"realtime:public:orders","ref":"1","payload":{}}');
  assert.deepEqual(await next((m) => m.event === 'phx_reply', 'join reply'),
    { topic: 'realtime:public:orders', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '1' });
  const system = await next((m) => m.event === 'system', 'system');
  assert.equal(system.payload.message, 'Subscribed to PostgreSQL');

  const row = { id: 1, customer: 'Alice', total: '49.99', status: 'pending' };
  await host.notify({ table: 'orders', type: 'INSERT', record: row });
  await host.notify({ table: 'orders', type: 'UPDATE', record: { ...row, status: 'paid' }, old_record: row });
  await host.notify({ table: 'orders', type: 'DELETE', old_record: { ...row, status: 'paid' } });
  const frames = [];
  for (let i = 0; i < 3; i++) frames.push(await next((m) => m.event === 'postgres_changes', `change ${i + 1}`));
  assert.deepEqual(frames.map((f) => f.payload.type), ['INSERT', 'UPDATE', 'DELETE']);
  for (const f of frames) {
    assert.equal(f.topic, 'realtime:public:orders');
    assert.equal(f.ref, null);
    assert.equal(f.payload.table, 'orders');
    assert.match(f.payload.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  assert.ok(frames[0].payload.seq < frames[1].payload.seq && frames[1].payload.seq < frames[2].payload.seq);
  // The tutorial's payload table: record null on DELETE, old_record null on INSERT.
  assert.deepEqual(frames[0].payload.record, row);
  assert.equal(frames[0].payload.old_record, null);
  assert.equal(frames[1].payload.record.status, 'paid');
  assert.equal(frames[1].payload.old_record.status, 'pending');
  assert.equal(frames[2].payload.record, null);
  assert.equal(frames[2].payload.old_record.status, 'paid');

  ws.send('{"event":"heartbeat","topic":"phoenix","ref":"42","payload":{}}');
  assert.deepEqual(await next((m) => m.ref === '42', 'heartbeat reply'),
    { topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '42' });

  ws.send('{"event":"phx_leave","topic":"realtime:public:orders","ref":"99","payload":{}}');
  assert.deepEqual(await next((m) => m.event === 'phx_reply' && m.ref === '99', 'leave reply'),
    { topic: 'realtime:public:orders', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '99' });
  assert.deepEqual(await next((m) => m.event === 'phx_close', 'phx_close'),
    { topic: 'realtime:public:orders', event: 'phx_close', payload: {}, ref: '1' });
  assert.equal(inbox.items.length, 0);
});

test('realtime:* receives changes of every table, and WebSocket pings are answered with pongs', async (t) => {
  const { ws, next } = await open(t, '?apikey=any-key');
  ws.send('{"event":"phx_join","topic":"realtime:*","ref":"2","payload":{}}');
  assert.equal((await next((m) => m.event === 'phx_reply', 'join reply')).payload.status, 'ok');
  await host.notify({ table: 'todos', type: 'INSERT', record: { id: 1, title: 't' } });
  await host.notify({ table: 'orders', type: 'INSERT', record: { id: 2 } });
  assert.equal((await next((m) => m.event === 'postgres_changes', 'todos')).payload.table, 'todos');
  assert.equal((await next((m) => m.event === 'postgres_changes', 'orders')).payload.table, 'orders');

  const pong = new Promise((resolvePromise) => ws.once('pong', (data) => resolvePromise(data.toString())));
  ws.ping('are-you-there');
  assert.equal(await pong, 'are-you-there');
});

test('the tutorial browser example: a config join read through m.payload.type', async (t) => {
  const { ws, next } = await open(t, '?apikey=token');
  ws.send(JSON.stringify({ event: 'phx_join', topic: 'realtime:public:orders', ref: '1', payload: { config: { postgres_changes: [{ event: '*', schema: 'public', table: 'orders' }] } } }));
  const reply = await next((m) => m.event === 'phx_reply', 'join reply');
  assert.equal(reply.payload.response.postgres_changes[0].table, 'orders');
  await host.notify({ table: 'orders', type: 'INSERT', record: { id: 3, customer: 'Zed' } });
  const m = await next((x) => x.event === 'postgres_changes', 'change');
  assert.equal(m.payload.type, 'INSERT');
  assert.equal(m.payload.table, 'orders');
  assert.deepEqual(m.payload.record, { id: 3, customer: 'Zed' });
  assert.deepEqual(m.payload.ids, [reply.payload.response.postgres_changes[0].id]);
});

test('vsn 2.0.0 array frames: replies echo join_ref and ref, unknown topics get unmatched topic', async (t) => {
  const { ws, next } = await open(t, '?apikey=k&vsn=2.0.0');
  ws.send('["3","3","realtime:orders-room","phx_join",{"config":{"postgres_changes":[{"event":"INSERT","schema":"public","table":"orders"}]}}]');
  const reply = await next((m) => Array.isArray(m) && m[3] === 'phx_reply', 'join reply');
  assert.deepEqual(reply.slice(0, 4), ['3', '3', 'realtime:orders-room', 'phx_reply']);
  assert.equal(reply[4].status, 'ok');
  ws.send('[null,"4","realtime:nope","broadcast",{}]');
  assert.deepEqual(await next((m) => m[1] === '4', 'unmatched'), [null, '4', 'realtime:nope', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
  ws.send('[null,"5","phoenix","heartbeat",{}]');
  assert.deepEqual(await next((m) => m[1] === '5', 'heartbeat'), [null, '5', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
});
