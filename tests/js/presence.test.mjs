// Presence with the real supabase-js 2.119.0, unmodified, on both serializers: track / untrack, the join / leave /
// sync callbacks, a late joiner's first sync, and the leave of a client whose socket drops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';
import { Inbox, startHost } from './lib/host.mjs';
import { subscribed, supabaseClient } from './lib/supabase.mjs';

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
  });
}
