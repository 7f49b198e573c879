// The phoenix.js 1.8.16 pieces the suites share: a Socket on the test host, disconnected when the test ends, and a
// channel join as a promise.
import WebSocket from 'ws';
import { Socket } from 'phoenix';

/** A connected phoenix.js Socket on `host` (vsn 2.0.0 array frames), torn down after test `t`. */
export function phoenixSocket(t, host) {
  // phoenix appends /websocket, then the params, then vsn=2.0.0.
  const socket = new Socket(host.url.replace(/^http/, 'ws') + '/realtime/v1', { transport: WebSocket, params: { apikey: 'any-key' } });
  socket.connect();
  t.after(() => socket.disconnect());
  return socket;
}

/** Joins `channel`; resolves with the join reply's response, rejects on error or timeout. */
export function joined(channel) {
  return new Promise((resolvePromise, reject) => {
    channel.join()
      .receive('ok', resolvePromise)
      .receive('error', (e) => reject(new Error(`join error: ${JSON.stringify(e)}`)))
      .receive('timeout', () => reject(new Error('join timeout')));
  });
}

/** Pushes `event` on `channel`; resolves with the ok reply's response, rejects on error or timeout. */
export function pushed(channel, event, payload) {
  return new Promise((resolvePromise, reject) => {
    channel.push(event, payload)
      .receive('ok', resolvePromise)
      .receive('error', (e) => reject(new Error(`${event} error: ${JSON.stringify(e)}`)))
      .receive('timeout', () => reject(new Error(`${event}: no reply`)));
  });
}
