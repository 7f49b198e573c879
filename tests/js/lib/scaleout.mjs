// Scale-out pieces: a real redis-server of the test's own (a free loopback port, its own data directory, stopped by
// PID; never the machine's 6379) and sample server processes (lib/sample.mjs) that share it and one SQLite file.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSample } from './sample.mjs';

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
  const node = await startSample(['--db', database, '--redis', redis]);
  await until(async () => {
    try {
      const health = await (await fetch(`${node.url}/health`)).json();
      return health.checks['heliosnano-redis'].data.connected === true;
    } catch {
      return false;
    }
  }, `the sample on ${node.url} did not connect to Redis:\n${node.output}`);
  return {
    url: node.url,
    stop: node.stop,
    get output() { return node.output; },
    /** POST /sql; throws unless 200. */
    async sql(text) {
      const response = await fetch(`${node.url}/sql`, { method: 'POST', body: text });
      if (!response.ok) throw new Error(`POST /sql failed: ${response.status} ${await response.text()}`);
      return response.json();
    },
  };
}

export { until };
