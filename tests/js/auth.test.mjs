// The sample as a Supabase-style backend (--jwt-secret), driven by the real supabase-js 2.119.0: sign-up and
// sign-in, row-level security declared with CREATE POLICY, token expiry and refresh on a channel, private broadcast.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';
import { Inbox } from './lib/host.mjs';
import { jwt, startSample } from './lib/sample.mjs';

const secret = 'super-secret-jwt-token-with-at-least-32-characters-long';
const now = () => Math.floor(Date.now() / 1000);
const anonKey = jwt(secret, { role: 'anon', exp: now() + 3600 });
const serviceKey = jwt(secret, { role: 'service_role', exp: now() + 3600 });

let sample;
after(async () => { await sample?.stop(); });

function client(t, key = anonKey) {
  const supabase = createClient(sample.url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: WebSocket },
  });
  t.after(async () => { await supabase.removeAllChannels(); supabase.realtime.disconnect(); });
  return supabase;
}

async function sql(text, key = serviceKey) {
  const response = await fetch(`${sample.url}/sql`, { method: 'POST', headers: { apikey: key, Authorization: `Bearer ${key}` }, body: text });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status} ${JSON.stringify(body)}`);
  return body;
}

function subscribe(channel) {
  const statuses = [];
  const done = new Promise((resolvePromise, reject) => {
    channel.subscribe((status, error) => {
      statuses.push({ status, message: error?.message });
      if (status === 'SUBSCRIBED') resolvePromise();
      else if (status !== 'CLOSED') reject(new Error(`${status}: ${error?.message}`));
    });
  });
  return { statuses, done };
}

let counter = 0;
async function signUp(t, tenant) {
  const supabase = client(t);
  const email = `user${++counter}-${tenant}@example.com`;
  const { error: signUpError } = await supabase.auth.signUp({ email, password: 'correct horse', options: { data: { tenant_id: tenant } } });
  assert.equal(signUpError, null);
  const { data, error } = await supabase.auth.signInWithPassword({ email, password: 'correct horse' });
  assert.equal(error, null);
  // supabase-js hands the session's JWT to realtime on SIGNED_IN; set it explicitly too, so the join carries it.
  supabase.realtime.setAuth(data.session.access_token);
  return { supabase, session: data.session, user: data.user };
}

before(async () => {
  sample = await startSample(['--jwt-secret', secret]);
  await sql('CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT, tenant TEXT, body TEXT)');
  await sql("CREATE POLICY own_notes ON notes FOR SELECT USING (owner = auth.uid())");
  await sql('CREATE TABLE tickets (id INTEGER PRIMARY KEY, tenant TEXT, title TEXT)');
  await sql("CREATE POLICY tenant_tickets ON tickets FOR SELECT USING (tenant = auth.jwt() -> 'user_metadata' ->> 'tenant_id')");
  await sql("CREATE POLICY team_read ON realtime.messages FOR SELECT USING (realtime.topic() = auth.jwt() -> 'user_metadata' ->> 'tenant_id')");
  await sql("CREATE POLICY team_write ON realtime.messages FOR INSERT WITH CHECK (realtime.topic() = auth.jwt() -> 'user_metadata' ->> 'tenant_id')");
});

test('signInWithPassword, then subscribe: only the user\'s own rows arrive, and REST reads follow the same policy', async (t) => {
  const alice = await signUp(t, 'ta');
  const bob = await signUp(t, 'tb');
  const inbox = new Inbox();
  const { done } = subscribe(alice.supabase.channel('notes').on('postgres_changes', { event: '*', schema: 'public', table: 'notes' }, (p) => inbox.push(p)));
  await done;

  await sql(`INSERT INTO notes (id, owner, body) VALUES (1, '${bob.user.id}', 'bob''s'), (2, '${alice.user.id}', 'alice''s'), (3, '${bob.user.id}', 'bob again'), (4, '${alice.user.id}', 'alice again')`);
  const first = await inbox.take((p) => true, 10_000, 'a change');
  const second = await inbox.take((p) => true, 10_000, 'a second change');
  assert.deepEqual([first.new.id, second.new.id], [2, 4]);

  const { data, error } = await alice.supabase.from('notes').select('id').order('id');
  assert.equal(error, null);
  assert.deepEqual(data.map((r) => r.id), [2, 4]);
  const { data: all } = await client(t, serviceKey).from('notes').select('id').order('id');
  assert.deepEqual(all.map((r) => r.id), [1, 2, 3, 4], 'the service role bypasses the policy');
  assert.equal(inbox.items.length, 0);
});

test('two users of two tenants on one table get disjoint streams, both complete and in order', async (t) => {
  const a = await signUp(t, 'alpha');
  const b = await signUp(t, 'beta');
  const inboxes = { alpha: new Inbox(), beta: new Inbox() };
  for (const [tenant, user] of [['alpha', a], ['beta', b]]) {
    const { done } = subscribe(user.supabase.channel(`tickets-${tenant}`).on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'tickets' }, (p) => inboxes[tenant].push(p)));
    await done;
  }

  const values = [];
  for (let id = 1; id <= 30; id++) values.push(`(${id}, '${id % 3 === 0 ? 'beta' : 'alpha'}', 't${id}')`);
  await sql(`INSERT INTO tickets (id, tenant, title) VALUES ${values.join(', ')}`);

  for (const tenant of ['alpha', 'beta']) {
    const expected = [];
    for (let id = 1; id <= 30; id++) if ((id % 3 === 0) === (tenant === 'beta')) expected.push(id);
    const got = [];
    for (const _ of expected) got.push((await inboxes[tenant].take(() => true, 10_000, `${tenant} change`)).new.id);
    assert.deepEqual(got, expected, tenant);
  }
});

/** A client whose realtime token is whatever `current()` returns (supabase-js's accessToken option, as with third-party auth). */
function tokenClient(t, current) {
  const supabase = createClient(sample.url, anonKey, { accessToken: async () => current(), realtime: { transport: WebSocket } });
  t.after(async () => { await supabase.removeAllChannels(); supabase.realtime.disconnect(); });
  return supabase;
}

test('a token that expires in 3 s: the system message "Token has expired N seconds ago", then CLOSED', async (t) => {
  const token = jwt(secret, { role: 'authenticated', sub: 'short', exp: now() + 3 });
  const supabase = tokenClient(t, () => token);
  await supabase.realtime.setAuth(token); // the join carries it (the callback alone is first polled later)
  const system = new Inbox();
  const { statuses, done } = subscribe(supabase.channel('short-lived').on('system', {}, (p) => system.push(p)));
  await done;
  const message = await system.take((p) => p.status === 'error', 10_000, 'the expiry system message');
  assert.match(message.message, /^Token has expired \d+ seconds ago$/);
  const closed = new Inbox();
  const poll = setInterval(() => { if (statuses.at(-1).status === 'CLOSED') closed.push(true); }, 20);
  t.after(() => clearInterval(poll));
  await closed.take(() => true, 5_000, 'CLOSED');
});

test('realtime.setAuth() with a fresh token before expiry keeps the channel', async (t) => {
  let token = jwt(secret, { role: 'authenticated', sub: 'kept', exp: now() + 3 });
  const supabase = tokenClient(t, () => token);
  await supabase.realtime.setAuth(token);
  const inbox = new Inbox();
  const channel = supabase.channel('kept')
    .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'tickets' }, (p) => inbox.push(p))
    .on('system', {}, (p) => inbox.push(p));
  const { statuses, done } = subscribe(channel);
  await done;
  token = jwt(secret, { role: 'service_role', sub: 'kept', exp: now() + 3600 });
  await supabase.realtime.setAuth(token);

  await new Promise((r) => setTimeout(r, 4_000)); // past the first token's exp
  await sql("INSERT INTO tickets (id, tenant, title) VALUES (100, 'x', 'after refresh')");
  const change = await inbox.take((p) => p.eventType === 'INSERT', 10_000, 'a change after the first token expired');
  assert.equal(change.new.id, 100);
  assert.equal(inbox.items.filter((p) => p.status === 'error').length, 0, 'no expiry message');
  assert.equal(statuses.at(-1).status, 'SUBSCRIBED');
});

test('a private broadcast channel: the allowed user sends and receives, the other is refused with the reason', async (t) => {
  const member = await signUp(t, 'room-a');
  const other = await signUp(t, 'room-b');
  const inbox = new Inbox();
  const channel = member.supabase.channel('room-a', { config: { private: true, broadcast: { self: true, ack: true } } })
    .on('broadcast', { event: 'hello' }, (p) => inbox.push(p));
  await subscribe(channel).done;
  assert.equal(await channel.send({ type: 'broadcast', event: 'hello', payload: { n: 1 } }), 'ok');
  assert.deepEqual((await inbox.take(() => true, 10_000, 'own broadcast')).payload, { n: 1 });

  const refused = other.supabase.channel('room-a', { config: { private: true } });
  const { done } = subscribe(refused);
  await assert.rejects(done, /Unauthorized: You do not have permissions to read from this Channel topic: room-a/);
});
