// The EF Core sample's orders board in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Starts the built sample (dotnet build first) on a free port; its page loads supabase-js (this project's own npm copy,
// served by the sample, no CDN) and must show orders added, updated and deleted through EF Core, without a reload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startDotnetServer } from "./lib/server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const configuration = process.env.CONFIGURATION || "Debug";
const sampleDll = join(repo, `samples/HeliosNano.Realtime.Sample.EfCore/bin/${configuration}/net10.0/HeliosNano.Realtime.Sample.EfCore.dll`);
const supabaseJs = join(here, "node_modules/@supabase/supabase-js/dist/umd/supabase.js");
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

let server;
let baseUrl;
let browser;
let profile;

async function startSample() {
  server = await startDotnetServer(sampleDll, "--supabase-js", supabaseJs);
  baseUrl = server.baseUrl;
}

async function api(method, path, body) {
  const response = await fetch(`${baseUrl}${path}`, {
    method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

before(async () => {
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium`);
  await startSample();
  profile = mkdtempSync(join(tmpdir(), "helios-efcore-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (profile) { rmSync(profile, { recursive: true, force: true }); }
});

test("orders board updates live from EF Core SaveChanges over supabase-js", { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${baseUrl}/`);
  await page.waitForSelector('#status[data-state="subscribed"]', { timeout: 20_000 });
  await page.evaluate(() => { window.__sameDocument = true; });

  const created = await api("POST", "/api/orders", { customer: "Alice", total: 49.99 });
  await page.waitForSelector(`#order-${created.id}`, { timeout: 10_000 });
  assert.match(await page.textContent(`#order-${created.id}`), /Alice\s*49\.99\s*pending/);

  await api("POST", `/api/orders/${created.id}/status/paid`);
  await page.waitForFunction((id) => document.getElementById(`order-${id}`)?.textContent.includes("paid"), created.id, { timeout: 10_000 });

  // From the page itself: its form posts, EF saves, the change comes back over the socket.
  await page.fill('input[name="customer"]', "Bob");
  await page.fill('input[name="total"]', "5");
  await page.click("#add button");
  await page.waitForFunction(() => [...document.querySelectorAll("#rows tr")].some((tr) => tr.textContent.includes("Bob")), null, { timeout: 10_000 });

  await api("DELETE", `/api/orders/${created.id}`);
  await page.waitForFunction((id) => !document.getElementById(`order-${id}`), created.id, { timeout: 10_000 });

  assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload happened");
  assert.equal(await page.locator("#rows tr").count(), 1);
  assert.deepEqual(pageErrors, []);
});
