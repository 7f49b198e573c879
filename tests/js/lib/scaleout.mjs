// Scale-out pieces: a real redis-server of the test's own (a free loopback port, its own data directory, stopped by
// PID; never the machine's 6379) and sample server processes (built beforehand) that share it and one SQLite file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sampleDll = join(repo, 'samples', 'HeliosNano.Realtime.Sample', 'bin', process.env.CONFIGURATION ?? 'Debug', 'net10.0', 'HeliosNano.Realtime.Sample.dll');

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function ping(port) {
  return new Promise((resolvePing) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setEncoding('utf8');
    socket.once('data', (data) => { socket.destroy(); resolvePing(data.startsWith('+PONG')); });
    socket.once('error', () => resolvePing(false));
  });
}

async function until(condition, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `redis-server` on a free port with its own directory; `stop()` kills it by PID and removes the directory. */
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'heliosnano-js-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
  const failed = new Promise((_, reject) => child.once('error', reject));
  await Promise.race([until(() => ping(port), 'redis-server did not answer PING'), failed]);
  return {
    configuration: `127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts one sample node (`--db <file> --redis <configuration>`); resolves once its backplane is connected to Redis. */
export async function startSampleNode(database, redis) {
  if (!existsSync(sampleDll)) throw new Error(`${sampleDll} is missing: build the solution (dotnet build -c Debug) before npm test`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn('dotnet', [sampleDll, '--urls', url, '--no-pg', '--db', database, '--redis', redis], {
    cwd: dirname(sampleDll),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOTNET_NOLOGO: '1' },
  });
  child.stdout.setEncoding('utf8').on('data', (chunk) => { output += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk) => { output += chunk; });
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`sample exited with ${child.exitCode}:\n${output}`);
    try {
      const health = await (await fetch(`${url}/health`)).json();
      return health.checks['heliosnano-redis'].data.connected === true;
    } catch {
      return false;
    }
  }, `the sample on ${url} did not connect to Redis:\n${output}`);
  return {
    url,
    get output() { return output; },
    /** POST /sql; throws unless 200. */
    async sql(text) {
      const response = await fetch(`${url}/sql`, { method: 'POST', body: text });
      if (!response.ok) throw new Error(`POST /sql failed: ${response.status} ${await response.text()}`);
      return response.json();
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export { until };
