// Presence and Broadcast on one more channel of the page's WebSocket, realtime:dashboard: who is viewing this dashboard
// (presence: track / presence_state / presence_diff) and a chat line (broadcast). Frames are Phoenix vsn 1.0.0 objects,
// as in dashboard.js; supabase-js would say supabase.channel("dashboard", { config: { presence: { key }, broadcast:
// { self: true } } }) and channel.track(...) / channel.send({ type: "broadcast", event: "chat", payload }).
export const LOBBY_TOPIC = "realtime:dashboard";

const COLOURS = ["#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5", "#0c8599", "#d6336c", "#5c7cfa"];
const ADJECTIVES = ["Curious", "Brave", "Quiet", "Lucky", "Swift", "Sunny", "Clever", "Gentle"];
const ANIMALS = ["Otter", "Falcon", "Panda", "Lynx", "Heron", "Koala", "Fox", "Whale"];
const MAX_CHAT = 100;

const $ = (id) => document.getElementById(id);
const pick = (list, byte) => list[byte % list.length];
const isColour = (value) => typeof value === "string" && /^#[0-9a-f]{6}$/i.test(value);

/** This tab's viewer: a random presence key, and a name and colour kept for the tab's lifetime (sessionStorage). */
function whoAmI() {
  const random = crypto.getRandomValues(new Uint8Array(10));
  const key = [...random].map((b) => b.toString(16).padStart(2, "0")).join("");
  const params = new URLSearchParams(location.search);
  const name = (params.get("name") || sessionStorage.getItem("helios.name") || `${pick(ADJECTIVES, random[0])} ${pick(ANIMALS, random[1])}`).slice(0, 40);
  const stored = sessionStorage.getItem("helios.colour");
  const colour = isColour(stored) ? stored : pick(COLOURS, random[2]);
  sessionStorage.setItem("helios.name", name);
  sessionStorage.setItem("helios.colour", colour);
  return { key, name, colour };
}

function dot(colour) {
  const span = document.createElement("span");
  span.className = "dot";
  span.style.background = isColour(colour) ? colour : "#868e96";
  span.setAttribute("aria-hidden", "true");
  return span;
}

/**
 * The lobby channel. `send(frame)` writes to the page's socket, `nextRef()` numbers pushes. Call `join()` once the
 * socket is open, `handle(frame)` for every frame (true when it was the lobby's), `reset()` when the socket closes.
 */
export function createLobby({ send, nextRef }) {
  const me = whoAmI();
  // key -> metas, as presence_state and presence_diff describe them ({ phx_ref, name, colour }).
  let viewers = new Map();
  let joinRef = null;
  let joined = false;
  let synced = false;
  let early = [];

  $("my-name").value = me.name;
  $("my-dot").replaceWith(Object.assign(dot(me.colour), { id: "my-dot" }));

  const nameOf = (key) => { const metas = viewers.get(key); return metas && metas.length ? String(metas[metas.length - 1].name || "someone") : null; };

  function push(event, payload) {
    send({ topic: LOBBY_TOPIC, event, payload, ref: nextRef(), join_ref: joinRef });
  }

  function track() {
    if (joined) { push("presence", { type: "presence", event: "track", payload: { name: me.name, colour: me.colour } }); }
  }

  function renderViewers() {
    const items = [...viewers.entries()]
      .map(([key, metas]) => ({ key, meta: metas[metas.length - 1] }))
      .sort((a, b) => String(a.meta.name).localeCompare(String(b.meta.name)) || a.key.localeCompare(b.key));
    $("viewers").replaceChildren(...items.map(({ key, meta }) => {
      const li = document.createElement("li");
      li.dataset.key = key;
      const name = document.createElement("span");
      name.textContent = String(meta.name || "someone");
      li.append(dot(meta.colour), name);
      if (key === me.key) {
        const you = document.createElement("span");
        you.className = "you";
        you.textContent = "(you)";
        li.append(you);
      }
      return li;
    }));
    const n = viewers.size;
    $("viewer-count").textContent = joined ? n + (n === 1 ? " viewer" : " viewers") : "offline";
  }

  function chatLine(colour, who, text, system) {
    const li = document.createElement("li");
    if (system) {
      li.className = "system";
      li.textContent = text;
    } else {
      const name = document.createElement("strong");
      name.textContent = who;
      const body = document.createElement("span");
      body.textContent = text;
      li.append(dot(colour), name, body);
    }
    const list = $("chat");
    list.append(li);
    while (list.children.length > MAX_CHAT) { list.firstElementChild.remove(); }
    list.scrollTop = list.scrollHeight;
  }

  function applyDiff({ joins = {}, leaves = {} }) {
    const before = new Map([...viewers.keys()].map((key) => [key, nameOf(key)]));
    // As phoenix.js's Presence.syncDiff: every join first (new metas replace those with the same phx_ref), then every leave.
    for (const [key, { metas }] of Object.entries(joins)) {
      const refs = new Set(metas.map((m) => m.phx_ref));
      viewers.set(key, [...(viewers.get(key) || []).filter((m) => !refs.has(m.phx_ref)), ...metas]);
    }
    for (const [key, { metas }] of Object.entries(leaves)) {
      const refs = new Set(metas.map((m) => m.phx_ref));
      const left = (viewers.get(key) || []).filter((m) => !refs.has(m.phx_ref));
      if (left.length) { viewers.set(key, left); } else { viewers.delete(key); }
    }
    for (const key of viewers.keys()) {
      if (!before.has(key)) { chatLine(null, null, nameOf(key) + " joined", true); }
      else if (before.get(key) !== nameOf(key)) { chatLine(null, null, before.get(key) + " is now " + nameOf(key), true); }
    }
    for (const [key, name] of before) {
      if (!viewers.has(key)) { chatLine(null, null, name + " left", true); }
    }
    renderViewers();
  }

  function join() {
    joinRef = nextRef();
    joined = false;
    synced = false;
    early = [];
    send({
      topic: LOBBY_TOPIC, event: "phx_join", ref: joinRef, join_ref: joinRef,
      payload: { config: { broadcast: { self: true, ack: false }, presence: { key: me.key, enabled: true } } },
    });
  }

  function handle(m) {
    if (m.topic !== LOBBY_TOPIC) { return false; }
    const p = m.payload || {};
    if (m.event === "phx_reply" && m.ref === joinRef) {
      joined = p.status === "ok";
      $("chat-send").disabled = !joined;
      if (joined) { track(); } else { chatLine(null, null, "Could not join the lobby: " + JSON.stringify(p.response), true); }
      renderViewers();
    } else if (m.event === "presence_state") {
      // The whole state after our join; diffs that came before it are applied on top, in order.
      viewers = new Map(Object.entries(p).map(([key, entry]) => [key, entry.metas || []]));
      synced = true;
      early.forEach(applyDiff);
      early = [];
      renderViewers();
    } else if (m.event === "presence_diff") {
      if (synced) { applyDiff(p); } else { early.push(p); }
    } else if (m.event === "broadcast" && p.event === "chat") {
      const chat = p.payload || {};
      if (typeof chat.text === "string" && chat.text.length > 0) {
        chatLine(chat.colour, String(chat.name || "someone").slice(0, 40), chat.text.slice(0, 500), false);
      }
    } else if (m.event === "phx_close" || (m.event === "system" && p.status === "error")) {
      joined = false;
      $("chat-send").disabled = true;
      chatLine(null, null, "Lobby closed by the server" + (p.message ? ": " + p.message : ""), true);
      renderViewers();
    }
    return true;
  }

  function reset() {
    joined = false;
    synced = false;
    viewers = new Map();
    $("chat-send").disabled = true;
    renderViewers();
  }

  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("chat-input").value.trim();
    if (!joined || !text) { return; }
    // self: true in the join, so our own line comes back from the server like everyone else's.
    push("broadcast", { type: "broadcast", event: "chat", payload: { name: me.name, colour: me.colour, text } });
    $("chat-input").value = "";
  });
  $("my-name").addEventListener("change", (e) => {
    const name = e.target.value.trim().slice(0, 40);
    if (!name || name === me.name) { e.target.value = me.name; return; }
    me.name = name;
    sessionStorage.setItem("helios.name", name);
    track(); // a second track is an update: one presence_diff with the new meta as a join and the old one as a leave
  });

  renderViewers();
  return { join, handle, reset };
}
