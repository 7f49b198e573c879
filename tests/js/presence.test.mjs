// Presence with the real clients, unmodified: supabase-js 2.119.0 on both serializers (track / untrack, the join /
// leave / sync callbacks, a late joiner's first sync, an update, the leave of a client that closes and of one whose
// socket drops) and phoenix 1.8.16's Presence helper (onSync / onJoin / onLeave / list).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';
import { Presence } from 'phoenix';
import { Inbox, startHost } from './lib/host.mjs';
import { joined, phoenixSocket, pushed } from './lib/phoenix.mjs';
import { droppableClient, subscribed, supabaseClient } from './lib/supabase.mjs';

let host;
before(async () => { host = await startHost(); });
after(async () => { await host?.stop(); });

const client = (t, vsn) => supabaseClient(t, host, vsn);

let room = 0;

for (const vsn of ['2.0.0', '1.0.0']) {
  describe(`supabase-js presence vsn ${vsn}`, () => {
    test('track fires join and sync everywhere, a late joiner syncs the state, untrack and a closed socket leave', async (t) => {
      const name = `lobby-${vsn}-${room++}`;
      const alice = client(t, vsn).channel(name, { config: { presence: { key: 'alice' } } });
      const aliceEvents = new Inbox();
      alice.on('presence', { event: 'join' }, (p) => aliceEvents.push({ type: 'join', key: p.key }))
        .on('presence', { event: 'leave' }, (p) => aliceEvents.push({ type: 'leave', key: p.key }))
        .on('presence', { event: 'sync' }, () => aliceEvents.push({ type: 'sync' }));
      await subscribed(alice);
      await aliceEvents.take((e) => e.type === 'sync', 10_000, 'first sync');
      assert.equal(await alice.track({ name: 'Alice' }), 'ok');
      await aliceEvents.take((e) => e.type === 'join' && e.key === 'alice', 10_000, 'own join');

      // A late joiner: its first sync already holds alice, with the same presence_ref.
      const bobClient = createClient(host.url, 'any-key', { realtime: { transport: WebSocket, vsn } });
      t.after(() => bobClient.realtime.disconnect());
      const bob = bobClient.channel(name, { config: { presence: { key: 'bob' } } });
      const bobEvents = new Inbox();
      bob.on('presence', { event: 'sync' }, () => bobEvents.push('sync'));
      await subscribed(bob);
      await bobEvents.take(() => true, 10_000, 'bob first sync');
      const state = bob.presenceState();
      assert.deepEqual(Object.keys(state), ['alice']);
      assert.equal(state.alice[0].name, 'Alice');
      assert.equal(state.alice[0].presence_ref, alice.presenceState().alice[0].presence_ref);

      assert.equal(await bob.track({ name: 'Bob' }), 'ok');
      await aliceEvents.take((e) => e.type === 'join' && e.key === 'bob', 10_000, 'bob joins at alice');

      // Bob's socket goes away without a phx_leave (the NUnit tests cover an abort): alice sees bob leave.
      bobClient.realtime.disconnect();
      await aliceEvents.take((e) => e.type === 'leave' && e.key === 'bob', 10_000, 'bob leaves');

      assert.equal(await alice.untrack(), 'ok');
      await aliceEvents.take((e) => e.type === 'leave' && e.key === 'alice', 10_000, 'own leave');
      assert.deepEqual(alice.presenceState(), {});
    });

    test('a second track is an update (join of the new meta, leave of the old); a dropped socket leaves', async (t) => {
      const name = `lobby-${vsn}-${room++}`;
      const watcher = client(t, vsn).channel(name, { config: { presence: { key: 'watcher' } } });
      const events = new Inbox();
      watcher.on('presence', { event: 'join' }, (p) => events.push({ type: 'join', key: p.key, metas: p.newPresences }))
        .on('presence', { event: 'leave' }, (p) => events.push({ type: 'leave', key: p.key, metas: p.leftPresences }))
        .on('presence', { event: 'sync' }, () => events.push({ type: 'sync' }));
      await subscribed(watcher);
      await events.take((e) => e.type === 'sync', 10_000, 'first sync');

      const carol = droppableClient(t, host, vsn);
      const carolChannel = carol.supabase.channel(name, { config: { presence: { key: 'carol' } } });
      await subscribed(carolChannel);
      assert.equal(await carolChannel.track({ mood: 'calm' }), 'ok');
      const first = await events.take((e) => e.type === 'join' && e.key === 'carol', 10_000, 'carol joins');
      assert.equal(first.metas[0].mood, 'calm');

      assert.equal(await carolChannel.track({ mood: 'busy' }), 'ok');
      const update = await events.take((e) => e.type === 'join' && e.key === 'carol', 10_000, 'carol updates');
      const old = await events.take((e) => e.type === 'leave' && e.key === 'carol', 10_000, 'the old meta leaves');
      assert.equal(update.metas[0].mood, 'busy');
      assert.equal(old.metas[0].mood, 'calm');
      assert.notEqual(update.metas[0].presence_ref, old.metas[0].presence_ref);
      assert.deepEqual(watcher.presenceState().carol.map((m) => m.mood), ['busy'], 'one meta under the key after the update');

      // The TCP connection goes away with no close frame and no phx_leave: the server still makes carol leave.
      carol.drop();
      const gone = await events.take((e) => e.type === 'leave' && e.key === 'carol', 10_000, 'carol leaves after the drop');
      assert.equal(gone.metas[0].mood, 'busy');
      assert.deepEqual(watcher.presenceState(), {});
    });
  });
}

test('phoenix.js Presence: onSync, onJoin, onLeave and list follow track, a late joiner, an update and a disconnect', async (t) => {
  const topic = 'realtime:phx-lobby';
  const config = (key) => ({ config: { presence: { key, enabled: true } } });
  const track = (channel, meta) => pushed(channel, 'presence', { type: 'presence', event: 'track', payload: meta });
  const watch = (channel) => {
    const presence = new Presence(channel);
    const events = new Inbox();
    presence.onJoin((key, current, added) => events.push({ type: 'join', key, current, metas: added.metas }));
    presence.onLeave((key, current, removed) => events.push({ type: 'leave', key, current, metas: removed.metas }));
    presence.onSync(() => events.push({ type: 'sync' }));
    return { presence, events };
  };
  const names = (presence) => presence.list((key, { metas }) => `${key}:${metas.map((m) => m.name).join('+')}`).sort();

  const alice = phoenixSocket(t, host).channel(topic, config('alice'));
  const atAlice = watch(alice);
  await joined(alice);
  await atAlice.events.take((e) => e.type === 'sync', 10_000, 'alice first sync');
  assert.deepEqual(names(atAlice.presence), []);
  assert.deepEqual(await track(alice, { name: 'Alice' }), {});
  const own = await atAlice.events.take((e) => e.type === 'join', 10_000, 'alice own join');
  assert.equal(own.key, 'alice');
  assert.equal(own.current, undefined, 'a new key has no current presence');
  assert.equal(own.metas[0].name, 'Alice');
  assert.match(own.metas[0].phx_ref, /^[A-Za-z0-9_-]{16}$/);

  // A late joiner's first sync holds alice, with the ref alice saw.
  const bobSocket = phoenixSocket(t, host);
  const bob = bobSocket.channel(topic, config('bob'));
  const atBob = watch(bob);
  await joined(bob);
  const bobJoin = await atBob.events.take((e) => e.type === 'join', 10_000, 'alice at bob');
  await atBob.events.take((e) => e.type === 'sync', 10_000, 'bob first sync');
  assert.equal(bobJoin.key, 'alice');
  assert.equal(bobJoin.metas[0].phx_ref, own.metas[0].phx_ref);
  assert.deepEqual(names(atBob.presence), ['alice:Alice']);

  assert.deepEqual(await track(bob, { name: 'Bob' }), {});
  await atAlice.events.take((e) => e.type === 'join' && e.key === 'bob', 10_000, 'bob at alice');
  await atAlice.events.take((e) => e.type === 'sync', 10_000, 'sync after bob');
  assert.deepEqual(names(atAlice.presence), ['alice:Alice', 'bob:Bob']);

  // An update: onJoin with the new meta (current = the old), then onLeave of the old meta; list shows one meta.
  assert.deepEqual(await track(alice, { name: 'Alice 2' }), {});
  const updated = await atBob.events.take((e) => e.type === 'join' && e.key === 'alice', 10_000, 'update join at bob');
  const replaced = await atBob.events.take((e) => e.type === 'leave' && e.key === 'alice', 10_000, 'update leave at bob');
  assert.equal(updated.current.metas[0].name, 'Alice');
  assert.equal(updated.metas[0].name, 'Alice 2');
  assert.equal(updated.metas[0].phx_ref_prev, own.metas[0].phx_ref);
  assert.equal(replaced.metas[0].name, 'Alice');
  await atBob.events.take((e) => e.type === 'sync', 10_000, 'sync after the update');
  assert.deepEqual(names(atBob.presence), ['alice:Alice 2', 'bob:Bob']);

  // Bob's socket closes: alice's Presence gets onLeave for bob and list drops him.
  bobSocket.disconnect();
  const left = await atAlice.events.take((e) => e.type === 'leave' && e.key === 'bob', 10_000, 'bob leaves at alice');
  assert.equal(left.metas[0].name, 'Bob');
  await atAlice.events.take((e) => e.type === 'sync' && names(atAlice.presence).length === 1, 10_000, 'sync after bob left');
  assert.deepEqual(names(atAlice.presence), ['alice:Alice 2']);

  const untracked = await pushed(alice, 'presence', { type: 'presence', event: 'untrack' });
  assert.deepEqual(untracked, {});
  await atAlice.events.take((e) => e.type === 'leave' && e.key === 'alice', 10_000, 'alice own leave');
  assert.deepEqual(names(atAlice.presence), []);
});
