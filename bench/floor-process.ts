/**
 * "Floor": the least a chat client can do with `ws` alone. Per chat: one socket (permessage-deflate off),
 * `aws/subscribe` and wait for the ack, `aws/heartbeat` every 10 s from its own setInterval, and every inbound
 * frame JSON-parsed, `aws/chat` content parsed a second time. No zombie detection, no reconnect, no dedupe,
 * no token refresh. Its "message event" is the moment after the second parse.
 */
import WebSocket from 'ws';
import { tuneV8ForHeldChats } from '../src/session/tuning.js';
import { type Holder, heldChatsApi } from './lib/held.js';
import { serve } from './lib/ipc.js';

// The same V8 configuration as ours, so the two differ only in how they hold chats.
tuneV8ForHeldChats();

const SUBSCRIBE = '{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}';
const HEARTBEAT = '{"topic":"aws/heartbeat"}';
const HEARTBEAT_INTERVAL_MS = 10_000;

const sockets = new Set<WebSocket>();

const holder: Holder<string> = {
  open(url, recorder) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const heartbeat = setInterval(() => ws.send(HEARTBEAT), HEARTBEAT_INTERVAL_MS);
      ws.on('open', () => ws.send(SUBSCRIBE));
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { topic?: string; content?: unknown };
        if (frame.topic === 'aws/chat') {
          const item = JSON.parse(frame.content as string) as { Type?: string; Content?: string };
          if (item.Type === 'MESSAGE') recorder.record(item.Content);
        } else if (frame.topic === 'aws/subscribe') {
          if ((frame.content as { status?: string }).status === 'success') resolve();
          else reject(new Error('subscribe refused'));
        }
      });
      ws.on('error', reject);
      ws.on('close', () => {
        clearInterval(heartbeat);
        sockets.delete(ws);
        reject(new Error('closed'));
      });
      sockets.add(ws);
    });
  },
  alive() {
    let open = 0;
    for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) open++;
    return open;
  },
  closeAll() {
    for (const ws of sockets) ws.terminate();
  },
};

const api = heldChatsApi(holder);
export type FloorApi = typeof api;
serve(api);
