import net from 'node:net';
import tls from 'node:tls';

/**
 * How a chat websocket reads its TCP (or TLS) socket: into one read buffer shared by every socket of the process
 * (Node's `onread` option), instead of a fresh 64 KB allocation per read.
 *
 * Without `onread`, Node allocates 64 KB for every read, shrinks it to what arrived and hands it to JavaScript
 * as a new ArrayBuffer whose memory V8 tracks as external, then pushes it through the socket's Readable stream.
 * A held chat's inbound message is one small frame in one read, so that is paid once per message, and the
 * external memory brings on extra full collections. Reading into a shared buffer took 2.3 µs (11 %) off the CPU
 * per inbound message at 1,000 chats in `npm run bench:ab`, and the full collections with it.
 *
 * Each chunk is copied out before the callback returns, because the next read of any socket reuses the buffer;
 * a chunk of under 4 KB is a slice of Buffer's pool. The copy is emitted as `'data'`, the event that the HTTP
 * client (during the upgrade) and `ws` listen to: with `onread` Node emits none itself, but `'end'`, `'close'`,
 * `'error'`, `pause()` and `resume()` behave as usual (Node's documentation of `onread`). Node calls the
 * callback with the socket as `this`, so one function serves every socket and a chat holds no closure for it.
 */
const READ_BUFFER_BYTES = 64 * 1024;

function onRead(this: net.Socket, bytes: number, buffer: Buffer): boolean {
  const chunk = Buffer.allocUnsafe(bytes);
  buffer.copy(chunk, 0, 0, bytes);
  this.emit('data', chunk);
  return true;
}

const onread = { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onRead };

/** The options `ws` (and `http.request`) pass to a `createConnection` function. */
type ConnectOptions = net.TcpNetConnectOpts & tls.ConnectionOptions & { socketPath?: string };

// The same connections ws opens by default (ws/lib/websocket.js, netConnect and tlsConnect), plus `onread`.
function netConnect(options: ConnectOptions): net.Socket {
  return net.connect({ ...options, path: options.socketPath, onread } as net.NetConnectOpts);
}

function tlsConnect(options: ConnectOptions): tls.TLSSocket {
  const servername = options.servername ?? (net.isIP(options.host ?? '') ? '' : options.host);
  return tls.connect({ ...options, path: undefined, servername, onread } as tls.ConnectionOptions);
}

/** Opens the socket for a connection, from the options `ws` or `http.request` give it. */
export type Connector = (options: object) => net.Socket;

/**
 * The `createConnection` function for a websocket (or HTTP) URL: TLS for `wss:` and `https:`, plain TCP
 * otherwise. Pass it as `ws`'s or `http.request`'s `createConnection` option.
 */
export function connectorFor(url: string): Connector {
  const secure = url.startsWith('wss:') || url.startsWith('https:');
  return (secure ? tlsConnect : netConnect) as Connector;
}
