// The sample server's dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Starts the built sample server (dotnet build first), loads the dashboard, writes through POST /sql and checks that
// the rows change in place, without a reload, from the changes arriving over the page's own WebSocket; then two pages
// see each other in the lobby's presence list, chat over broadcast and see a closed page leave.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CREATE_ORDERS, startSampleServer } from "./lib/server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const artifacts = join(here, "artifacts");

let server;
let baseUrl;
let browser;
let profile;
const sql = (text) => server.sql(text);

before(async () => {
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium`);
  server = await startSampleServer();
  baseUrl = server.baseUrl;
  profile = mkdtempSync(join(tmpdir(), "helios-chromium-"));
  // A fresh user data dir per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1360, height: 820 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (profile) { rmSync(profile, { recursive: true, force: true }); }
});

test("dashboard shows committed rows live, without a reload", { timeout: 60_000 }, async () => {
  await sql(CREATE_ORDERS);
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${baseUrl}/?table=orders`);

  // Joined realtime:public:orders over the page's own WebSocket.
  await page.waitForSelector('#status[data-state="subscribed"]', { timeout: 15_000 });
  assert.match(await page.textContent("#status-text"), /realtime:public:orders/);
  assert.equal(await page.locator("#rows tr").count(), 0);

  // A marker that a reload would wipe out.
  await page.evaluate(() => { window.__sameDocument = true; });

  await sql("INSERT INTO orders (customer, total) VALUES ('Alice', 49.99);");
  const alice = page.locator("#rows tr", { hasText: "Alice" });
  await alice.waitFor({ timeout: 10_000 });
  assert.match(await alice.textContent(), /49\.99/);
  assert.match(await alice.textContent(), /pending/);

  await sql("INSERT INTO orders (customer, total) VALUES ('Bob', 12.50); UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 1;");
  await page.locator("#rows tr", { hasText: "Bob" }).waitFor({ timeout: 10_000 });
  await page.locator("#rows tr", { hasText: "Alice" }).filter({ hasText: "paid" }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("#rows tr").count(), 2, "the UPDATE replaced Alice's row in place");

  // The event log lists the three changes, newest first.
  await page.waitForFunction(() => document.querySelectorAll("#log li:not(.system)").length === 3, null, { timeout: 10_000 });
  const badges = await page.locator("#log li:not(.system) .badge").allTextContents();
  assert.deepEqual(badges, ["UPDATE", "INSERT", "INSERT"]);

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true, animations: "disabled" });

  await sql("DELETE FROM orders WHERE id = 1;");
  await page.waitForFunction(() => !document.querySelector("#rows").textContent.includes("Alice"), null, { timeout: 10_000 });
  assert.equal(await page.locator("#rows tr").count(), 1);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page was never reloaded");
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("dashboard discovers a table created after it loaded", { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`${baseUrl}/?table=customers`);
  await page.waitForSelector('#status[data-state="subscribed"]', { timeout: 15_000 });
  await sql("CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT NOT NULL, vip BOOLEAN DEFAULT false);");

  // The catalog is polled every 3 s; the page then switches to the table it was asked for and joins it.
  await page.waitForFunction(() => document.querySelector("#status-text").textContent.includes("realtime:public:customers"), null, { timeout: 15_000 });
  await sql("INSERT INTO customers (name, vip) VALUES ('Zoe', true);");
  const zoe = page.locator("#rows tr", { hasText: "Zoe" });
  await zoe.waitFor({ timeout: 10_000 });
  assert.match(await zoe.textContent(), /true/);
  await page.close();
});

test("with --apikey the dashboard asks for the key, then goes live with it", { timeout: 60_000 }, async (t) => {
  const keyed = await startSampleServer("--apikey", "s3cret");
  t.after(() => keyed.stop());
  await keyed.sql(CREATE_ORDERS, { apikey: "s3cret" });
  const page = await browser.newPage();
  await page.goto(`${keyed.baseUrl}/?table=orders`);

  // Without the key: the socket is refused (401 on the upgrade) and the key box shows.
  await page.waitForSelector("#key-box:not([hidden])", { timeout: 15_000 });
  await page.waitForSelector('#status[data-state="closed"]', { timeout: 15_000 });

  await page.fill("#apikey", "s3cret");
  await page.press("#apikey", "Enter");
  await page.waitForSelector('#status[data-state="subscribed"]', { timeout: 15_000 });
  await keyed.sql("INSERT INTO orders (customer, total) VALUES ('Keyed', 1.5);", { apikey: "s3cret" });
  await page.locator("#rows tr", { hasText: "Keyed" }).waitFor({ timeout: 10_000 });
  await page.close();
});

test("two viewers see each other in presence, a chat line sent on one appears on both, a closed page leaves", { timeout: 60_000 }, async () => {
  await sql("CREATE TABLE IF NOT EXISTS orders ( id SERIAL PRIMARY KEY, customer TEXT, total NUMERIC(10, 2), status TEXT DEFAULT 'pending', updated_at TIMESTAMP DEFAULT now());");
  const pageErrors = [];
  const open = async (name) => {
    const page = await browser.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${baseUrl}/?table=orders&name=${encodeURIComponent(name)}`);
    await page.waitForSelector('#status[data-state="subscribed"]', { timeout: 15_000 });
    return page;
  };
  const viewers = (page) => page.locator("#viewers li").allTextContents();

  const ada = await open("Ada");
  await ada.locator("#viewers li", { hasText: "Ada" }).filter({ hasText: "(you)" }).waitFor({ timeout: 10_000 });
  const grace = await open("Grace");

  // Presence: each page lists both viewers (sorted by name), itself marked "(you)".
  await ada.locator("#viewers li", { hasText: "Grace" }).waitFor({ timeout: 10_000 });
  await grace.locator("#viewers li", { hasText: "Ada" }).waitFor({ timeout: 10_000 });
  assert.deepEqual(await viewers(ada), ["Ada(you)", "Grace"]);
  assert.deepEqual(await viewers(grace), ["Ada", "Grace(you)"]);
  assert.equal(await ada.textContent("#viewer-count"), "2 viewers");
  await ada.locator("#chat li.system", { hasText: "Grace joined" }).waitFor({ timeout: 10_000 });

  // Broadcast: a line typed on one page shows on both (self: true echoes it to the sender).
  await grace.fill("#chat-input", "hello from Grace");
  await grace.press("#chat-input", "Enter");
  for (const page of [ada, grace]) {
    await page.locator("#chat li:not(.system)", { hasText: "hello from Grace" }).waitFor({ timeout: 10_000 });
  }
  assert.equal(await grace.inputValue("#chat-input"), "", "the input is cleared after sending");

  // The REST broadcast endpoint reaches the same chat.
  const posted = await fetch(`${baseUrl}/realtime/v1/api/broadcast/dashboard/events/chat`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "curl", text: "hi over REST" }),
  });
  assert.equal(posted.status, 202);
  await ada.locator("#chat li:not(.system)", { hasText: "hi over REST" }).waitFor({ timeout: 10_000 });

  // A rename is a presence update: the other page shows the new name, still two viewers.
  await ada.fill("#my-name", "Ada L.");
  await ada.press("#my-name", "Enter");
  await grace.locator("#viewers li", { hasText: "Ada L." }).waitFor({ timeout: 10_000 });
  assert.deepEqual(await viewers(grace), ["Ada L.", "Grace(you)"]);
  await grace.locator("#chat li.system", { hasText: "Ada is now Ada L." }).waitFor({ timeout: 10_000 });

  await sql("INSERT INTO orders (customer, total) VALUES ('Linus', 7.25);");
  await ada.locator("#rows tr", { hasText: "Linus" }).waitFor({ timeout: 10_000 });
  mkdirSync(artifacts, { recursive: true });
  await ada.screenshot({ path: join(artifacts, "dashboard-lobby.png"), fullPage: true, animations: "disabled" });

  // Closing a page drops its socket: the other sees it leave.
  await grace.close();
  await ada.waitForFunction(() => !document.querySelector("#viewers").textContent.includes("Grace"), null, { timeout: 10_000 });
  assert.deepEqual(await viewers(ada), ["Ada L.(you)"]);
  assert.equal(await ada.textContent("#viewer-count"), "1 viewer");
  await ada.locator("#chat li.system", { hasText: "Grace left" }).waitFor({ timeout: 10_000 });
  assert.deepEqual(pageErrors, []);
  await ada.close();
});
