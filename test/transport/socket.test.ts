import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { Scheduler } from '../../src/transport/scheduler.js';
import { ChatSocket, type SocketListener } from '../../src/transport/socket.js';
import { waitUntil } from '../support/wait.js';

/** A TCP server on loopback that answers every connection with `onConnection` (or not at all). */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}/connect`, server };
}

const listener: SocketListener = {
  onSocketItem() {
    throw new Error('no items expected');
  },
  onSocketClose() {
    throw new Error('a socket that never opened must not report a close');
  },
};

describe('ChatSocket.open', () => {
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  it('fails with CB_SOCKET_FAILED when the upgrade never completes, and leaves nothing behind', async () => {
    const silent = await tcpServer((socket) => {
      // Accepts the TCP connection and reads the upgrade request, but never answers it.
      sockets.add(socket);
      socket.resume();
    });
    server = silent.server;
    const scheduler = new Scheduler();
    const started = performance.now();
    const error = await ChatSocket.open(silent.url, listener, scheduler, 300).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.SocketFailed, message: expect.stringContaining('300 ms') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(scheduler.size).toBe(0);
    // The client side of the TCP connection is gone: the server sees it close.
    await waitUntil(
      () => [...sockets].every((socket) => socket.closed),
      'the stalled connection to close',
      5000,
    );
  });

  it('fails with CB_SOCKET_FAILED at once when the upgrade is refused', async () => {
    const refusing = await tcpServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    });
    server = refusing.server;
    const scheduler = new Scheduler();
    const error = await ChatSocket.open(refusing.url, listener, scheduler, 10_000).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.SocketFailed });
    expect(scheduler.size).toBe(0);
  });
});
