// The supabase-js pieces every suite needs: a client on the test host, closed when the test ends, and a channel
// subscription as a promise.
import WebSocket from 'ws';
import { createClient } from '@supabase/supabase-js';

/** A supabase-js client for `host` speaking `vsn`, torn down after test `t`. */
export function supabaseClient(t, host, vsn) {
  // Node 20 has no global WebSocket: hand realtime-js the `ws` constructor.
  const supabase = createClient(host.url, 'any-key', { realtime: { transport: WebSocket, vsn } });
  t.after(async () => { await supabase.removeAllChannels(); supabase.realtime.disconnect(); });
  return supabase;
}

/** Subscribes `channel`; resolves on SUBSCRIBED, rejects on any status other than CLOSED. */
export function subscribed(channel) {
  return new Promise((resolvePromise, reject) => {
    channel.subscribe((status, error) => {
      if (status === 'SUBSCRIBED') resolvePromise();
      else if (status !== 'CLOSED') reject(new Error(`${status}: ${error?.message}`));
    });
  });
}

/**
 * A supabase-js client whose socket a test can drop like a lost network: `drop()` destroys the TCP connection with no
 * WebSocket close frame and no phx_leave, then stops the client reconnecting.
 */
export function droppableClient(t, host, vsn) {
  const sockets = [];
  class RecordedWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  }
  const supabase = createClient(host.url, 'any-key', { realtime: { transport: RecordedWebSocket, vsn } });
  t.after(() => supabase.realtime.disconnect());
  return {
    supabase,
    drop() {
      for (const socket of sockets) socket.terminate();
      supabase.realtime.disconnect();
    },
  };
}
