// Starts the sample server (samples/HeliosNano.Realtime.Sample, built in Debug beforehand) on a free loopback port,
// with the PostgreSQL listener off, and the given extra arguments (e.g. --jwt-secret).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess } from './process.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sampleDir = join(repo, 'samples', 'HeliosNano.Realtime.Sample', 'bin', process.env.CONFIGURATION ?? 'Debug', 'net10.0');
const sampleDll = join(sampleDir, 'HeliosNano.Realtime.Sample.dll');

export async function startSample(extraArgs = []) {
  if (!existsSync(sampleDll)) throw new Error(`${sampleDll} is missing: build the solution (dotnet build -c Debug) before npm test`);
  const child = spawn('dotnet', [sampleDll, '--urls', 'http://127.0.0.1:0', '--no-pg', ...extraArgs], {
    cwd: sampleDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOTNET_NOLOGO: '1', ASPNETCORE_ENVIRONMENT: 'Production', Logging__LogLevel__Microsoft__AspNetCore: 'Information' },
  });
  let output = '';
  const url = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`sample did not start within 60 s:\n${output}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /Now listening on: (http:\/\/\S+)/.exec(output) ?? /(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) { clearTimeout(timer); resolvePromise(match[1]); }
    });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`sample exited with ${code}:\n${output}`)); });
  });
  return {
    url,
    get output() { return output; },
    stop: () => stopProcess(child),
  };
}

/** An HS256 JWT, as the sample (or Supabase) mints them, for keys and hand-made tokens. */
export function jwt(secret, claims) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
