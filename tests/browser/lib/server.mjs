// Starts the built sample server (dotnet build first) on a free loopback port and stops it again.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const configuration = process.env.CONFIGURATION || "Debug";
export const serverDll = join(repo, `samples/HeliosNano.Realtime.Sample/bin/${configuration}/net10.0/HeliosNano.Realtime.Sample.dll`);

export const CREATE_ORDERS =
  "CREATE TABLE orders ( id SERIAL PRIMARY KEY, customer TEXT, total NUMERIC(10, 2), status TEXT DEFAULT 'pending', updated_at TIMESTAMP DEFAULT now());";

/**
 * Starts `dotnet <dll> --urls http://127.0.0.1:0 ...args` (port 0: the OS picks a free one, so test files running in
 * parallel never race for a port); resolves once it listens, with the address it reported, its output so far and a
 * stop() that ends it by its PID (SIGTERM) and waits for the exit.
 */
export async function startDotnetServer(dll, ...args) {
  assert.ok(existsSync(dll), `${dll} is missing: run 'dotnet build' first`);
  let output = "";
  let baseUrl;
  const child = spawn("dotnet", [dll, "--urls", "http://127.0.0.1:0", ...args], {
    cwd: repo,
    env: { ...process.env, DOTNET_NOLOGO: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise((resolveStart, reject) => {
    const onData = (chunk) => {
      output += chunk;
      baseUrl ??= /Now listening on: (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (baseUrl && output.includes("Application started")) { resolveStart(); }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => reject(new Error(`${dll} exited with ${code} before starting:\n${output}`)));
    child.once("error", reject);
  });

  return {
    baseUrl,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) { return; }
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Starts the tutorial's sample server (see startDotnetServer), without its psql listener, and adds sql(). */
export async function startSampleServer(...args) {
  const server = await startDotnetServer(serverDll, "--no-pg", ...args);
  const { baseUrl } = server;
  return {
    ...server,
    /** POST /sql; asserts 200 and returns the parsed body. */
    async sql(text, headers = {}) {
      const response = await fetch(`${baseUrl}/sql`, { method: "POST", body: text, headers });
      const body = await response.json();
      assert.equal(response.status, 200, `POST /sql failed: ${JSON.stringify(body)}`);
      return body;
    },
  };
}
