import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { connectorFor } from '../../src/transport/connection.js';
import { nextEvent, waitUntil } from '../support/wait.js';

const fixtures = new URL('../fixtures/tls/', import.meta.url);
/** A self-signed certificate for localhost and 127.0.0.1, valid until 2126. */
const tlsFixture = {
  cert: readFileSync(new URL('localhost-cert.pem', fixtures)),
  key: readFileSync(new URL('localhost-key.pem', fixtures)),
};

/** Sizes around Buffer's pool limit (4 KB) and the shared read buffer (64 KB), and frames of several reads. */
const SIZES = [1, 100, 4095, 4096, 65_536, 70_000, 300_000, 5];

/** Message `seq` for client `client`: its size from SIZES, its content unique to both. */
function message(client: number, seq: number): string {
  const head = `${client}:${seq}:`;
  const size = Math.max(SIZES[seq % SIZES.length]!, head.length);
  return head + String.fromCharCode(97 + ((client + seq) % 26)).repeat(size - head.length);
}

interface Run {
  url: string;
  server: Server;
  wss: WebSocketServer;
}

/**
 * A websocket server that, once all `clients` have said hello, sends each its `count` messages round-robin (so
 * reads of different sockets alternate while large frames are still arriving), then closes each with 4000 +
 * its number.
 */
async function startServer(
  server: Server,
  scheme: 'ws' | 'wss',
  clients: number,
  count: number,
): Promise<Run> {
  const wss = new WebSocketServer({ server });
  const peers: WebSocket[] = [];
  wss.on('connection', (peer) => {
    peer.once('message', (hello) => {
      peers[Number(hello.toString())] = peer;
      if (peers.filter(Boolean).length < clients) return;
      for (let seq = 0; seq < count; seq++) {
        for (const [client, each] of peers.entries()) each.send(message(client, seq));
      }
      for (const [client, each] of peers.entries()) each.close(4000 + client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const host = scheme === 'wss' ? 'localhost' : '127.0.0.1';
  return { url: `${scheme}://${host}:${port}/chat`, server, wss };
}

/** Opens `clients` websockets through the connector and resolves with what each received and its close code. */
async function receiveAll(
  url: string,
  clients: number,
  options: WebSocket.ClientOptions = {},
): Promise<Array<{ messages: string[]; code: number }>> {
  return Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const ws = new WebSocket(url, { ...options, createConnection: connectorFor(url) });
      const messages: string[] = [];
      ws.on('message', (data) => messages.push(data.toString()));
      await nextEvent(ws, 'open');
      ws.send(String(client));
      const [code] = await nextEvent(ws, 'close', () => true, 20_000);
      return { messages, code: code as number };
    }),
  );
}

/** Each client got all `count` of its messages, intact and in order, and the close code meant for it. */
function expectEverything(received: Array<{ messages: string[]; code: number }>, count: number): void {
  for (const [client, { messages, code }] of received.entries()) {
    expect(code).toBe(4000 + client);
    expect(messages).toHaveLength(count);
    // Compared one by one so that a failure names the message instead of printing megabytes.
    for (const [seq, text] of messages.entries())
      expect(text === message(client, seq), `${client}:${seq}`).toBe(true);
  }
}

describe('connectorFor: every chat socket reads into one shared buffer', () => {
  let run: Run | undefined;

  afterEach(async () => {
    if (!run) return;
    for (const peer of run.wss.clients) peer.terminate();
    await new Promise((resolve) => run?.wss.close(resolve));
    await new Promise((resolve) => run?.server.close(resolve));
    run = undefined;
  });

  it('delivers every frame of many sockets intact and in order, and their closes, over TCP', async () => {
    const clients = 12;
    const count = 24;
    run = await startServer(createHttpServer(), 'ws', clients, count);
    expectEverything(await receiveAll(run.url, clients), count);
  });

  it('does the same over TLS for wss: URLs', async () => {
    const clients = 4;
    const count = 16;
    run = await startServer(createHttpsServer(tlsFixture), 'wss', clients, count);
    expectEverything(await receiveAll(run.url, clients, { ca: tlsFixture.cert }), count);
    // The server's side of every connection is closed too: nothing is left half-open.
    await waitUntil(() => run?.wss.clients.size === 0, 'the server to see every TLS connection close', 5000);
  });

  it('still verifies the server certificate of a wss: URL', async () => {
    // Without the fixture's certificate as a CA, its self-signed certificate must be refused, as ws's own TLS
    // connection refuses it.
    run = await startServer(createHttpsServer(tlsFixture), 'wss', 1, 1);
    const ws = new WebSocket(run.url, { createConnection: connectorFor(run.url) });
    const [error] = await nextEvent(ws, 'error');
    expect((error as NodeJS.ErrnoException).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });
});
