// The real @supabase/supabase-js 2.119.0, unmodified, against the sample server: PostgREST-style REST through
// supabase.from(...) and postgres_changes through supabase.channel(...), as the tutorial's drop-in snippet promises.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { createClient } from "@supabase/supabase-js";
import { CREATE_ORDERS, startSampleServer } from "./lib/server.mjs";

let server;
before(async () => {
  server = await startSampleServer();
  await server.sql(CREATE_ORDERS);
});
after(async () => { await server?.stop(); });

function client(t, url, key = "any-key") {
  // Node 20 has no global WebSocket: hand realtime-js the `ws` constructor.
  const supabase = createClient(url, key, { realtime: { transport: WebSocket } });
  t.after(async () => { await supabase.removeAllChannels(); supabase.realtime.disconnect(); });
  return supabase;
}

test("from('orders') insert, select with filters, update, upsert, single and delete work", { timeout: 30_000 }, async (t) => {
  const supabase = client(t, server.baseUrl);

  const inserted = await supabase.from("orders").insert({ customer: "Alice", total: 49.99 }).select();
  assert.equal(inserted.error, null);
  assert.equal(inserted.status, 201);
  assert.equal(inserted.data.length, 1);
  assert.equal(inserted.data[0].customer, "Alice");
  assert.equal(inserted.data[0].status, "pending");
  assert.match(inserted.data[0].updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  const id = inserted.data[0].id;

  const bulk = await supabase.from("orders").insert([{ customer: "Bob", total: 5 }, { customer: "Carol", total: 12.5 }]);
  assert.equal(bulk.error, null);
  assert.equal(bulk.data, null, "no .select(): return=minimal");

  const some = await supabase.from("orders").select("id, customer", { count: "exact" }).gte("total", 10).order("total", { ascending: false });
  assert.equal(some.error, null);
  assert.deepEqual(some.data.map((r) => r.customer), ["Alice", "Carol"]);
  assert.equal(some.count, 2);

  const head = await supabase.from("orders").select("*", { count: "exact", head: true });
  assert.equal(head.error, null);
  assert.equal(head.count, 3);
  assert.equal(head.data, null);

  const like = await supabase.from("orders").select("customer").ilike("customer", "%AR%").in("id", [id, id + 2]);
  assert.deepEqual(like.data, [{ customer: "Carol" }]);

  const updated = await supabase.from("orders").update({ status: "paid" }).eq("id", id).select();
  assert.equal(updated.error, null);
  assert.equal(updated.data[0].status, "paid");

  const upserted = await supabase.from("orders").upsert({ id: id + 1, customer: "Bobby" }).select();
  assert.equal(upserted.error, null);
  assert.equal(upserted.data[0].customer, "Bobby");
  assert.equal(upserted.data[0].total, 5, "columns not in the upsert keep their values");

  const single = await supabase.from("orders").select("customer").eq("id", id).single();
  assert.deepEqual(single.data, { customer: "Alice" });

  const deleted = await supabase.from("orders").delete().eq("id", id);
  assert.equal(deleted.error, null);
  const left = await supabase.from("orders").select("id").order("id");
  assert.deepEqual(left.data.map((r) => r.id), [id + 1, id + 2]);

  const missing = await supabase.from("nope").select();
  assert.equal(missing.error.code, "PGRST205");
  const badColumn = await supabase.from("orders").select().eq("nope", 1);
  assert.equal(badColumn.error.code, "42703");
});

test("channel('orders') receives the changes written through supabase.from('orders')", { timeout: 30_000 }, async (t) => {
  const supabase = client(t, server.baseUrl);
  const received = [];
  let wake = () => {};
  const channel = supabase.channel("orders-feed")
    .on("postgres_changes", { event: "*", schema: "public", table: "orders" }, (payload) => { received.push(payload); wake(); });
  await new Promise((resolve, reject) => channel.subscribe((status, error) => {
    if (status === "SUBSCRIBED") { resolve(); } else if (status !== "CLOSED") { reject(new Error(`${status}: ${error?.message}`)); }
  }));

  const { data } = await supabase.from("orders").insert({ customer: "Dave", total: 7.25 }).select();
  const id = data[0].id;
  await supabase.from("orders").update({ status: "paid" }).eq("id", id);
  await supabase.from("orders").delete().eq("id", id);
  while (received.length < 3) { await new Promise((resolve) => { wake = resolve; }); }

  assert.deepEqual(received.map((p) => p.eventType), ["INSERT", "UPDATE", "DELETE"]);
  assert.equal(received[0].table, "orders");
  assert.equal(received[0].new.customer, "Dave");
  assert.equal(received[0].new.total, 7.25);
  assert.equal(received[1].new.status, "paid");
  assert.equal(received[1].old.status, "pending");
  assert.equal(received[2].old.id, id);
});

test("with --apikey, supabase-js works with the key and is refused without it", { timeout: 30_000 }, async (t) => {
  const keyed = await startSampleServer("--apikey", "s3cret");
  t.after(() => keyed.stop());
  await keyed.sql(CREATE_ORDERS, { apikey: "s3cret" });

  const good = client(t, keyed.baseUrl, "s3cret");
  const inserted = await good.from("orders").insert({ customer: "Erin" }).select("customer");
  assert.equal(inserted.error, null);
  assert.deepEqual(inserted.data, [{ customer: "Erin" }]);
  await new Promise((resolve, reject) => good.channel("keyed").on("postgres_changes", { event: "*", schema: "public", table: "orders" }, () => {})
    .subscribe((status, error) => { if (status === "SUBSCRIBED") { resolve(); } else if (status !== "CLOSED") { reject(new Error(`${status}: ${error?.message}`)); } }));

  const bad = client(t, keyed.baseUrl, "wrong");
  const refused = await bad.from("orders").select();
  assert.equal(refused.status, 401);
  assert.equal(refused.data, null);
});

test("with --apikey, httpSend() and send() before the join go through the REST broadcast with the key", { timeout: 30_000 }, async (t) => {
  const keyed = await startSampleServer("--apikey", "s3cret");
  t.after(() => keyed.stop());
  const subscribed = (channel) => new Promise((resolve, reject) => channel.subscribe((status, error) => {
    if (status === "SUBSCRIBED") { resolve(); } else if (status !== "CLOSED") { reject(new Error(`${status}: ${error?.message}`)); }
  }));

  const received = [];
  let wake = () => {};
  const listener = client(t, keyed.baseUrl, "s3cret").channel("room1")
    .on("broadcast", { event: "chat" }, (payload) => { received.push(payload.payload); wake(); });
  await subscribed(listener);

  // Never subscribed: send() falls back to POST /realtime/v1/api/broadcast; httpSend() posts to …/room1/events/chat.
  const sender = client(t, keyed.baseUrl, "s3cret").channel("room1");
  assert.equal(await sender.send({ type: "broadcast", event: "chat", payload: { via: "send" } }), "ok");
  assert.deepEqual(await sender.httpSend("chat", { via: "httpSend" }), { success: true });
  while (received.length < 2) { await new Promise((resolve) => { wake = resolve; }); }
  assert.deepEqual(received, [{ via: "send" }, { via: "httpSend" }]);

  const refused = client(t, keyed.baseUrl, "wrong").channel("room1");
  assert.equal(await refused.send({ type: "broadcast", event: "chat", payload: { via: "wrong key" } }), "error");
  await assert.rejects(refused.httpSend("chat", { via: "wrong key" }), /API key/);
  assert.equal(received.length, 2, "nothing with a wrong key arrived");
});
