// Two real sample nodes over one redis-server and one SQLite file, with the real supabase-js 2.119.0 on each: a change
// written on A reaches a client on B with the seq a client on A sees, a broadcast from A's client reaches B's, and
// presence syncs both nodes' users (with one presence_ref per user) on both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inbox } from './lib/host.mjs';
import { startRedis, startSampleNode, until } from './lib/scaleout.mjs';
import { subscribed, supabaseClient } from './lib/supabase.mjs';

let redis;
let dir;
let a;
let b;

before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'heliosnano-js-scaleout-'));
  const database = join(dir, 'shop.db');
  a = await startSampleNode(database, redis.configuration);
  await a.sql('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL)');
  b = await startSampleNode(database, redis.configuration);
});

after(async () => {
  await b?.stop();
  await a?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const client = (t, node) => supabaseClient(t, { url: node.url }, '2.0.0');

/** The raw postgres_changes payloads a client's socket receives (supabase-js's callback drops the seq). */
function rawChanges(supabase) {
  const inbox = new Inbox();
  supabase.realtime.socketAdapter.onMessage((message) => {
    if (message.event === 'postgres_changes') inbox.push(message.payload);
  });
  return inbox;
}

test('a change written on A reaches a client on B with the same seq as a client on A', async (t) => {
  const onA = client(t, a);
  const onB = client(t, b);
  const rawA = rawChanges(onA);
  const rawB = rawChanges(onB);
  const gotB = new Inbox();
  const changes = { event: 'INSERT', schema: 'public', table: 'orders' };
  await subscribed(onA.channel('orders-a').on('postgres_changes', changes, () => {}));
  await subscribed(onB.channel('orders-b').on('postgres_changes', changes, (p) => gotB.push(p)));

  await a.sql("INSERT INTO orders (customer, total) VALUES ('Alice', 49.99)");
  const isAlice = (p) => p.data?.record?.customer === 'Alice';
  const [fromA, fromB] = await Promise.all([rawA.take(isAlice, 20_000, 'the change on A'), rawB.take(isAlice, 20_000, 'the change on B')]);
  assert.equal(typeof fromA.seq, 'number');
  assert.equal(fromB.seq, fromA.seq, 'one sequence number on every node');
  const delivered = await gotB.take(() => true, 20_000, 'the supabase-js callback on B');
  assert.equal(delivered.new.customer, 'Alice');
  assert.equal(delivered.eventType, 'INSERT');
});

test("a broadcast from A's client reaches B's client", async (t) => {
  const config = { config: { broadcast: { self: false } } };
  const sender = client(t, a).channel('room-scaleout', config);
  const receiver = client(t, b).channel('room-scaleout', config);
  const received = new Inbox();
  receiver.on('broadcast', { event: 'cursor' }, (p) => received.push(p));
  await subscribed(sender);
  await subscribed(receiver);

  assert.equal(await sender.send({ type: 'broadcast', event: 'cursor', payload: { x: 7 } }), 'ok');
  const got = await received.take(() => true, 20_000, 'the broadcast on B');
  assert.deepEqual(got.payload, { x: 7 });
});

test('presence sync shows the users of both nodes on both, with one presence_ref per user', async (t) => {
  const alice = client(t, a).channel('lobby-scaleout', { config: { presence: { key: 'alice' } } });
  const bob = client(t, b).channel('lobby-scaleout', { config: { presence: { key: 'bob' } } });
  for (const channel of [alice, bob]) channel.on('presence', { event: 'sync' }, () => {});
  await subscribed(alice);
  await subscribed(bob);
  assert.equal(await alice.track({ name: 'Alice' }), 'ok');
  assert.equal(await bob.track({ name: 'Bob' }), 'ok');

  const both = (channel) => () => {
    const state = channel.presenceState();
    return Promise.resolve(state.alice?.length === 1 && state.bob?.length === 1);
  };
  await until(both(alice), 'alice did not see both users', 20_000);
  await until(both(bob), 'bob did not see both users', 20_000);
  const onA = alice.presenceState();
  const onB = bob.presenceState();
  assert.deepEqual(Object.keys(onA).sort(), ['alice', 'bob']);
  assert.equal(onB.alice[0].name, 'Alice');
  assert.equal(onA.bob[0].name, 'Bob');
  assert.equal(onB.alice[0].presence_ref, onA.alice[0].presence_ref);
  assert.equal(onA.bob[0].presence_ref, onB.bob[0].presence_ref);

  assert.equal(await alice.untrack(), 'ok');
  await until(() => Promise.resolve(bob.presenceState().alice === undefined), "alice's untrack did not reach B", 20_000);
});
