// The real @supabase/supabase-js 2.119.0 client, unmodified, against the HeliosNano realtime endpoint, for both
// serializers (vsn 2.0.0 is the client's default; 1.0.0 is the object format).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Inbox, eventually, startHost } from './lib/host.mjs';
import { supabaseClient } from './lib/supabase.mjs';

let host;
before(async () => { host = await startHost(); });
after(async () => { await host?.stop(); });

const client = (t, vsn) => supabaseClient(t, host, vsn);

function subscribe(channel) {
  const statuses = [];
  const subscribed = new Promise((resolvePromise, reject) => {
    channel.subscribe((status, error) => {
      statuses.push(status);
      if (status === 'SUBSCRIBED') resolvePromise(statuses);
      else if (status !== 'CLOSED') reject(new Error(`${status}: ${error?.message}`));
    });
  });
  return { statuses, subscribed };
}

for (const vsn of ['2.0.0', '1.0.0']) {
  describe(`supabase-js vsn ${vsn}`, () => {
    test('subscribe reports SUBSCRIBED and INSERT/UPDATE/DELETE reach the callback with values converted by column type', async (t) => {
      const supabase = client(t, vsn);
      const inbox = new Inbox();
      const channel = supabase.channel(`orders-${vsn}`)
        .on('postgres_changes', { event: '*', schema: 'public', table: 'orders' }, (p) => inbox.push(p));
      const { subscribed } = subscribe(channel);
      assert.deepEqual(await subscribed, ['SUBSCRIBED']);

      // Postgres text-format values: realtime-js converts them using columns[].type.
      const row = { id: '1', customer: 'Alice', total: '49.99', status: 'pending', paid: 'f', meta: '{"k":1}', updated_at: '2026-04-26 10:01:23' };
      await host.notify({ table: 'orders', type: 'INSERT', record: row });
      await host.notify({ table: 'orders', type: 'UPDATE', record: { ...row, status: 'paid', paid: 't' }, old_record: row });
      await host.notify({ table: 'orders', type: 'DELETE', old_record: { id: 1 } });

      const insert = await inbox.take((p) => p.eventType === 'INSERT', 10_000, 'INSERT');
      assert.equal(insert.schema, 'public');
      assert.equal(insert.table, 'orders');
      assert.match(insert.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(insert.new, { id: 1, customer: 'Alice', total: 49.99, status: 'pending', paid: false, meta: { k: 1 }, updated_at: '2026-04-26T10:01:23' });
      assert.deepEqual(insert.old, {});
      assert.equal(insert.errors, null);

      const update = await inbox.take((p) => p.eventType === 'UPDATE', 10_000, 'UPDATE');
      assert.equal(update.new.status, 'paid');
      assert.equal(update.new.paid, true);
      assert.equal(update.old.status, 'pending');

      const del = await inbox.take((p) => p.eventType === 'DELETE', 10_000, 'DELETE');
      assert.deepEqual(del.new, {});
      assert.deepEqual(del.old, { id: 1 });
      assert.equal(inbox.items.length, 0, 'exactly one callback per change');
    });

    test('a filtered binding receives only the rows its filter selects', async (t) => {
      const supabase = client(t, vsn);
      const inbox = new Inbox();
      const channel = supabase.channel(`filtered-${vsn}`)
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'orders', filter: 'total=gte.100' }, (p) => inbox.push(p));
      await subscribe(channel).subscribed;

      await host.notify({ table: 'orders', type: 'INSERT', record: { id: 10, customer: 'small', total: 99.5 } });
      await host.notify({ table: 'orders', type: 'INSERT', record: { id: 11, customer: 'big', total: 100 } });
      await host.notify({ table: 'orders', type: 'INSERT', record: { id: 12, customer: 'text-big', total: '250.00' } });
      await host.notify({ table: 'orders', type: 'INSERT', record: { id: 13, customer: 'null', total: null } });
      // A marker the filter also admits: once it arrives, everything before it has been judged.
      await host.notify({ table: 'orders', type: 'INSERT', record: { id: 14, customer: 'marker', total: 1000 } });

      await inbox.take((p) => p.new.customer === 'marker', 10_000, 'marker');
      assert.deepEqual(inbox.items.map((p) => p.new.customer), ['big', 'text-big']);
    });

    test('two bindings on one channel each receive only their own events', async (t) => {
      const supabase = client(t, vsn);
      const inserts = new Inbox();
      const deletes = new Inbox();
      const channel = supabase.channel(`two-${vsn}`)
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'todos' }, (p) => inserts.push(p))
        .on('postgres_changes', { event: 'DELETE', schema: 'public', table: 'todos' }, (p) => deletes.push(p));
      await subscribe(channel).subscribed;

      await host.notify({ table: 'todos', type: 'INSERT', record: { id: '7', title: 'write tests', done: 'f' } });
      await host.notify({ table: 'todos', type: 'UPDATE', record: { id: 7, title: 'write tests', done: true }, old_record: { id: 7 } });
      await host.notify({ table: 'todos', type: 'DELETE', old_record: { id: 7 } });

      const insert = await inserts.take(() => true, 10_000, 'todos INSERT');
      assert.deepEqual(insert.new, { id: 7, title: 'write tests', done: false });
      const del = await deletes.take(() => true, 10_000, 'todos DELETE');
      assert.deepEqual(del.old, { id: 7 });
      assert.equal(inserts.items.length + deletes.items.length, 0, 'the UPDATE matches neither binding');
    });

    test('removeChannel reports CLOSED and the table loses its subscriber', async (t) => {
      const supabase = client(t, vsn);
      const channel = supabase.channel(`remove-${vsn}`)
        .on('postgres_changes', { event: '*', schema: 'public', table: 'orders' }, () => {});
      const { statuses, subscribed } = subscribe(channel);
      await subscribed;
      assert.ok((await host.stats()).orders >= 1);

      assert.equal(await supabase.removeChannel(channel), 'ok');
      await eventually(() => statuses.includes('CLOSED'), 10_000, 'CLOSED');
      assert.deepEqual(statuses, ['SUBSCRIBED', 'CLOSED']);
      await eventually(async () => (await host.stats()).orders === 0, 10_000, 'orders subscriber count back to 0');
      supabase.realtime.disconnect();
    });

    test('joining with config.postgres_changes_options.last_seq replays the retained changes after it', async (t) => {
      const watcher = client(t, vsn);
      const seen = new Inbox();
      await subscribe(watcher.channel(`watch-${vsn}`).on('postgres_changes', { event: '*', schema: 'public', table: 'orders' }, (p) => seen.push(p))).subscribed;
      const seqA = await host.notify({ table: 'orders', type: 'INSERT', record: { id: 21, customer: 'A' } });
      const seqB = await host.notify({ table: 'orders', type: 'INSERT', record: { id: 22, customer: 'B' } });
      await seen.take((p) => p.new.customer === 'B', 10_000, 'B');

      // A client that saw up to A joins later and asks for what followed: supabase-js forwards postgres_changes_options verbatim.
      const late = client(t, vsn);
      const replayed = new Inbox();
      const channel = late.channel(`replay-${vsn}`, { config: { postgres_changes_options: { last_seq: seqA } } })
        .on('postgres_changes', { event: '*', schema: 'public', table: 'orders' }, (p) => replayed.push(p));
      await subscribe(channel).subscribed;
      const got = await replayed.take(() => true, 10_000, 'replayed change');
      assert.equal(got.new.customer, 'B', `replays what followed seq ${seqA} (B is seq ${seqB})`);
      assert.equal(replayed.items.length, 0, 'A is not replayed');
    });
  });
}
