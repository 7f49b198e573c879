// One supabase-js 2.119.0 channel, unmodified, carrying all three features at once, as an app's single
// supabase.channel('room') does: postgres_changes, broadcast and presence, on both serializers. A second client on
// the same channel name checks that what it sees is the other's broadcast and presence, not only the echo.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Inbox, startHost } from './lib/host.mjs';
import { subscribed, supabaseClient } from './lib/supabase.mjs';

let host;
before(async () => { host = await startHost(); });
after(async () => { await host?.stop(); });

let room = 0;

for (const vsn of ['2.0.0', '1.0.0']) {
  describe(`supabase-js one channel, three features, vsn ${vsn}`, () => {
    test('a change, a broadcast and a presence sync all arrive on the same channel', async (t) => {
      const name = `mixed-${vsn}-${room++}`;
      const open = (key) => {
        const inbox = new Inbox();
        const channel = supabaseClient(t, host, vsn)
          .channel(name, { config: { broadcast: { self: true }, presence: { key } } })
          .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'orders' }, (p) => inbox.push({ kind: 'change', p }))
          .on('broadcast', { event: 'chat' }, (p) => inbox.push({ kind: 'broadcast', p }))
          .on('presence', { event: 'sync' }, () => inbox.push({ kind: 'sync' }));
        return { channel, inbox };
      };
      const ann = open('ann');
      const ben = open('ben');
      await Promise.all([subscribed(ann.channel), subscribed(ben.channel)]);
      await ann.inbox.take((e) => e.kind === 'sync', 10_000, 'ann first sync');
      await ben.inbox.take((e) => e.kind === 'sync', 10_000, 'ben first sync');

      // Presence on the channel that also holds postgres_changes bindings.
      assert.equal(await ann.channel.track({ role: 'host' }), 'ok');
      await ben.inbox.take((e) => e.kind === 'sync' && ben.channel.presenceState().ann, 10_000, 'ann at ben');
      assert.equal(ben.channel.presenceState().ann[0].role, 'host');

      // Broadcast on the same channel: ben gets ann's line, and ann (self: true) her own.
      assert.equal(await ann.channel.send({ type: 'broadcast', event: 'chat', payload: { text: 'hi' } }), 'ok');
      for (const { inbox } of [ann, ben]) {
        const got = await inbox.take((e) => e.kind === 'broadcast', 10_000, 'the broadcast');
        assert.deepEqual(got.p.payload, { text: 'hi' });
      }

      // And a committed change, through the same channel's postgres_changes binding.
      await host.notify({ table: 'orders', type: 'INSERT', record: { id: 7, customer: 'Mixed', total: 1 } });
      for (const { inbox } of [ann, ben]) {
        const got = await inbox.take((e) => e.kind === 'change', 10_000, 'the change');
        assert.equal(got.p.eventType, 'INSERT');
        assert.equal(got.p.new.customer, 'Mixed');
      }

      // Each kept the other features: nothing arrived twice, and ann is still the one presence at both.
      assert.equal(ann.inbox.items.filter((e) => e.kind !== 'sync').length, 0);
      assert.equal(ben.inbox.items.filter((e) => e.kind !== 'sync').length, 0);
      assert.deepEqual(Object.keys(ann.channel.presenceState()), ['ann']);
    });
  });
}
