// Starts the HeliosNano realtime test host (tests/HeliosNano.Realtime.TestHost, built in Debug beforehand) on a free
// loopback port and gives the tests its URL plus helpers to notify changes through its test-only HTTP API.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess } from './process.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const hostDir = join(repo, 'tests', 'HeliosNano.Realtime.TestHost', 'bin', process.env.CONFIGURATION ?? 'Debug', 'net10.0');
export const hostDll = join(hostDir, 'HeliosNano.Realtime.TestHost.dll');

export async function startHost(extraArgs = []) {
  if (!existsSync(hostDll)) {
    throw new Error(`${hostDll} is missing: build the solution (dotnet build -c Debug) before npm test`);
  }

  const child = spawn('dotnet', [hostDll, '--urls', 'http://127.0.0.1:0', ...extraArgs], {
    cwd: hostDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOTNET_NOLOGO: '1', ASPNETCORE_ENVIRONMENT: 'Production' },
  });
  let output = '';
  const url = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`test host did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /Now listening on: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`test host exited with ${code}:\n${output}`));
    });
  });
  child.stdout.on('data', (chunk) => { output += chunk; });

  return {
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/realtime/v1/websocket',
    get output() { return output; },
    async notify(change) {
      const response = await fetch(`${url}/test/notify`, { method: 'POST', body: JSON.stringify(change) });
      if (!response.ok) throw new Error(`notify failed: ${response.status} ${await response.text()}`);
      return (await response.json()).seq;
    },
    async stats() {
      return (await fetch(`${url}/test/stats`)).json();
    },
    stop: () => stopProcess(child),
  };
}

/** Collects values pushed by callbacks and lets a test await the next ones that satisfy a predicate. */
export class Inbox {
  #items = [];
  #waiters = [];

  push(item) {
    this.#items.push(item);
    for (const waiter of [...this.#waiters]) waiter();
  }

  get items() { return this.#items; }

  /** Resolves with the first not-yet-taken item matching `predicate`, removing it. */
  take(predicate = () => true, timeoutMs = 10_000, what = 'an item') {
    return new Promise((resolvePromise, reject) => {
      const check = () => {
        const index = this.#items.findIndex(predicate);
        if (index < 0) return false;
        const [item] = this.#items.splice(index, 1);
        cleanup();
        resolvePromise(item);
        return true;
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.#items).slice(0, 2000)}`)); }, timeoutMs);
      const waiter = () => { check(); };
      const cleanup = () => { clearTimeout(timer); this.#waiters = this.#waiters.filter((w) => w !== waiter); };
      this.#waiters.push(waiter);
      check();
    });
  }
}

/** Waits until `condition()` (sync or async) is truthy, polling briefly; for server-side counters only. */
export async function eventually(condition, timeoutMs = 10_000, what = 'a condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
