/**
 * "Raw read": what any websocket client in Node pays on this machine before it does anything with a frame. Per
 * chat: one TCP socket upgraded by a hand-written handshake (no `ws`), `aws/subscribe` written as one masked
 * frame, `aws/heartbeat` every 10 s from its own setInterval (as the floor), and every inbound chunk walked
 * frame by frame. No UTF-8 check, no string, no JSON: a frame counts as a load message when its payload holds
 * the bytes `load ` (see the emulator's LoadGenerator). So its CPU per message is the kernel, the event loop and
 * Node's socket reads alone, the part of ours' and the floor's figure that no client code can remove.
 * `npm run bench:ab -- --base raw` measures against it; it records no latency.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { tuneV8ForHeldChats } from '../src/session/tuning.js';
import { connectorFor } from '../src/transport/connection.js';
import { type Holder, heldChatsApi, type LatencyRecorder } from './lib/held.js';
import { serve } from './lib/ipc.js';

// The same V8 configuration as ours and the floor.
tuneV8ForHeldChats();

/** A masked text frame of under 126 bytes. Clients must mask; a zero key leaves the payload as it is. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

const SUBSCRIBE = clientFrame('{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}');
const HEARTBEAT = clientFrame('{"topic":"aws/heartbeat"}');
const HEARTBEAT_INTERVAL_MS = 10_000;
const LOAD_MARK = Buffer.from('load ');
const SUBSCRIBED = Buffer.from('"status":"success"');

/** Reads server frames (unmasked) off one socket; a frame split across reads waits for the rest. */
class FrameCounter {
  private rest: Buffer | undefined;
  private subscribed = false;

  constructor(
    private readonly recorder: LatencyRecorder,
    private readonly onSubscribed: () => void,
  ) {}

  onData(chunk: Buffer): void {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (data.length - at < 2) break;
      let length = data[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        header = 10;
      }
      const end = at + header + length;
      if (end > data.length) break;
      const mark = data.indexOf(LOAD_MARK, at + header);
      if (mark !== -1 && mark < end) this.recorder.arrived();
      else if (!this.subscribed) {
        const ack = data.indexOf(SUBSCRIBED, at + header);
        if (ack !== -1 && ack < end) {
          this.subscribed = true;
          this.onSubscribed();
        }
      }
      at = end;
    }
    this.rest = at < data.length ? data.subarray(at) : undefined;
  }
}

const sockets = new Set<Socket>();

const holder: Holder<string> = {
  open(url, recorder) {
    return new Promise((resolve, reject) => {
      const upgrade = request(url.replace(/^ws/, 'http'), {
        // Ours' read path (one shared read buffer), so that nothing the session code does is cheaper here.
        createConnection: connectorFor(url),
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        },
      });
      upgrade.on('response', (response) => {
        response.resume();
        reject(new Error(`upgrade refused: ${response.statusCode}`));
      });
      upgrade.on('error', reject);
      upgrade.on('upgrade', (_response, socket, head) => {
        const counter = new FrameCounter(recorder, () => resolve());
        const heartbeat = setInterval(() => socket.write(HEARTBEAT), HEARTBEAT_INTERVAL_MS);
        socket.on('data', (chunk: Buffer) => counter.onData(chunk));
        socket.on('error', () => {});
        socket.on('close', () => {
          clearInterval(heartbeat);
          sockets.delete(socket);
          reject(new Error('closed'));
        });
        sockets.add(socket);
        if (head.length > 0) counter.onData(head);
        socket.write(SUBSCRIBE);
      });
      upgrade.end();
    });
  },
  alive() {
    let open = 0;
    for (const socket of sockets) if (!socket.destroyed) open++;
    return open;
  },
  closeAll() {
    for (const socket of sockets) socket.destroy();
  },
};

serve(heldChatsApi(holder));
