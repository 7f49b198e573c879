// The sample server's dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Starts the built sample server (dotnet build first), loads the dashboard, writes through POST /sql and checks that
// the rows change in place, without a reload, from the changes arriving over the page's own WebSocket.
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
