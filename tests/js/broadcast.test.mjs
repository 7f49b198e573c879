// Broadcast with the real clients, unmodified: supabase-js 2.119.0 on both serializers (on vsn 2.0.0 it pushes
// broadcasts as binary kind-3 frames) and phoenix 1.8.16 (text pushes, no binary kinds).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Inbox, startHost } from './lib/host.mjs';
import { joined, phoenixSocket, pushed } from './lib/phoenix.mjs';
import { subscribed, supabaseClient } from './lib/supabase.mjs';

let host;
// 300 back-to-back sends from one socket exceed the default 100 inbound messages per second.
before(async () => { host = await startHost(['--max-inbound-per-second', '1000']); });
after(async () => { await host?.stop(); });

const client = (t, vsn) => supabaseClient(t, host, vsn);

let room = 0;

for (const vsn of ['2.0.0', '1.0.0']) {
  describe(`supabase-js broadcast vsn ${vsn}`, () => {
    test('send without ack reaches the other client, not the sender; the event filter selects', async (t) => {
      const name = `room-${vsn}-${room++}`;
      const a = client(t, vsn).channel(name);
      const b = client(t, vsn).channel(name);
      const atA = new Inbox();
      const atB = new Inbox();
      const otherEvent = new Inbox();
      a.on('broadcast', { event: 'cursor' }, (p) => atA.push(p));
      b.on('broadcast', { event: 'cursor' }, (p) => atB.push(p)).on('broadcast', { event: 'other' }, (p) => otherEvent.push(p));
      await Promise.all([subscribed(a), subscribed(b)]);

      assert.equal(await a.send({ type: 'broadcast', event: 'cursor', payload: { x: 1 } }), 'ok');
      const got = await atB.take(() => true, 10_000, 'the broadcast');
      assert.equal(got.type, 'broadcast');
      assert.equal(got.event, 'cursor');
      assert.deepEqual(got.payload, { x: 1 });

      // A second message as a barrier: the sender (self: false) never saw the first.
      assert.equal(await b.send({ type: 'broadcast', event: 'cursor', payload: { x: 2 } }), 'ok');
      assert.deepEqual((await atA.take(() => true, 10_000, 'b to a')).payload, { x: 2 });
      assert.equal(atA.items.length, 0);
      assert.equal(otherEvent.items.length, 0);
    });

    test('ack: send resolves ok only once the server accepted it; self: the sender receives its own', async (t) => {
      const name = `room-${vsn}-${room++}`;
      const a = client(t, vsn).channel(name, { config: { broadcast: { ack: true, self: true } } });
      const mine = new Inbox();
      a.on('broadcast', { event: '*' }, (p) => mine.push(p));
      await subscribed(a);

      assert.equal(await a.send({ type: 'broadcast', event: 'ping', payload: { n: 1 } }), 'ok');
      const own = await mine.take(() => true, 10_000, 'own broadcast');
      assert.equal(own.event, 'ping');
      assert.deepEqual(own.payload, { n: 1 });
    });

    test('ack without self: ok comes back, the sender does not receive its own, a payload over the limit is refused', async (t) => {
      const name = `room-${vsn}-${room++}`;
      const a = client(t, vsn).channel(name, { config: { broadcast: { ack: true } } });
      const b = client(t, vsn).channel(name);
      const atA = new Inbox();
      const atB = new Inbox();
      a.on('broadcast', { event: '*' }, (p) => atA.push(p));
      b.on('broadcast', { event: '*' }, (p) => atB.push(p));
      await Promise.all([subscribed(a), subscribed(b)]);

      // Over MaxBroadcastPayloadBytes (256,000 by default): the ack is an error and nobody receives it.
      assert.equal(await a.send({ type: 'broadcast', event: 'big', payload: { blob: 'x'.repeat(300_000) } }), 'error');
      assert.equal(await a.send({ type: 'broadcast', event: 'small', payload: { n: 1 } }), 'ok');
      const got = await atB.take(() => true, 10_000, 'the small broadcast');
      assert.equal(got.event, 'small', 'the refused one never arrived, and order holds');
      // b to a as a barrier: a received nothing of its own.
      assert.equal(await b.send({ type: 'broadcast', event: 'back', payload: {} }), 'ok');
      assert.equal((await atA.take(() => true, 10_000, 'b to a')).event, 'back');
      assert.equal(atA.items.length, 0);
    });

    test('httpSend posts to /api/broadcast/{topic}/events/{event} (202) and the joined client receives it', async (t) => {
      const name = `room-${vsn}-${room++}`;
      const a = client(t, vsn).channel(name);
      const b = client(t, vsn).channel(name);
      const atB = new Inbox();
      b.on('broadcast', { event: 'note' }, (p) => atB.push(p));
      await subscribed(b);

      assert.deepEqual(await a.httpSend('note', { text: 'over http' }), { success: true });
      assert.deepEqual((await atB.take(() => true, 10_000, 'the http broadcast')).payload, { text: 'over http' });
    });

    test('send before the channel is joined falls back to the REST batch endpoint and is delivered', async (t) => {
      const name = `room-${vsn}-${room++}`;
      const b = client(t, vsn).channel(name);
      const atB = new Inbox();
      b.on('broadcast', { event: 'early' }, (p) => atB.push(p));
      await subscribed(b);

      const a = client(t, vsn).channel(name); // never subscribed: send() uses POST /api/broadcast
      assert.equal(await a.send({ type: 'broadcast', event: 'early', payload: { n: 1 } }), 'ok');
      assert.deepEqual((await atB.take(() => true, 10_000, 'the REST broadcast')).payload, { n: 1 });
    });

    test('300 back-to-back broadcasts arrive complete and in order', async (t) => {
      const name = `room-${vsn}-${room++}`;
      const a = client(t, vsn).channel(name);
      const b = client(t, vsn).channel(name);
      const seen = [];
      let done;
      const all = new Promise((r) => { done = r; });
      b.on('broadcast', { event: 'n' }, (p) => { seen.push(p.payload.i); if (seen.length === 300) done(); });
      await Promise.all([subscribed(a), subscribed(b)]);

      const sends = [];
      for (let i = 0; i < 300; i++) sends.push(a.send({ type: 'broadcast', event: 'n', payload: { i } }));
      assert.ok((await Promise.all(sends)).every((r) => r === 'ok'));
      await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${seen.length} of 300 arrived`)), 20_000))]);
      assert.deepEqual(seen, [...Array(300).keys()]);
    });
  });
}

test('phoenix.js pushes a text broadcast with an ack and another phoenix.js client receives it', async (t) => {
  const params = { config: { broadcast: { ack: true, self: false } } };
  const sender = phoenixSocket(t, host).channel('realtime:phx-room', params);
  const receiver = phoenixSocket(t, host).channel('realtime:phx-room', params);
  const inbox = new Inbox();
  receiver.on('broadcast', (p) => inbox.push(p));
  await Promise.all([joined(sender), joined(receiver)]);

  assert.deepEqual(await pushed(sender, 'broadcast', { type: 'broadcast', event: 'chat', payload: { text: 'hi' } }), {});
  assert.deepEqual(await inbox.take(() => true, 10_000, 'the broadcast'), { type: 'broadcast', event: 'chat', payload: { text: 'hi' } });
});
