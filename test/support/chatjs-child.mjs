// One amazon-connect-chatjs 5.0.0 CUSTOMER per process (chatjs keeps process-global state: the region
// client cache, GlobalConfig, per-ContactId connection helpers). Driven over IPC by chatjs-customer.ts:
// commands in, `{ type: 'reply' }` and `{ type: 'event' }` messages out. See chatjs-probe.md §3–§6.
import { createRequire } from 'node:module';
import WebSocket from 'ws';

// The four polyfills chatjs needs in Node (chatjs-probe.md §3), set before the bundle loads.
globalThis.self = globalThis;
globalThis.window = globalThis;
Object.defineProperty(globalThis, 'navigator', {
  value: { userAgent: 'node', onLine: true },
  configurable: true,
  writable: true,
});
globalThis.WebSocket = WebSocket;
createRequire(import.meta.url)('amazon-connect-chatjs');
const connect = globalThis.connect;

/** The session, once `connect` was called. */
let session;

function report(name, data) {
  // With a callback, a send that meets a parent already gone (EPIPE) fails quietly instead of crashing the child.
  if (process.connected) process.send({ type: 'event', name, at: Date.now(), data: plain(data) }, () => {});
}

/** A JSON-safe copy: IPC serializes with JSON, and chatjs events may hold circular SDK objects. */
function plain(value) {
  try {
    return JSON.parse(JSON.stringify(value ?? null));
  } catch {
    return { unserializable: Object.keys(value ?? {}) };
  }
}

function errorText(error) {
  if (error instanceof Error) return error.message;
  return JSON.stringify(plain(error));
}

const logger =
  (level) =>
  (...args) => {
    // Library logs travel as events so a failing test can print them; debug stays in the child.
    if (level !== 'debug')
      report('log', {
        level,
        text: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(plain(a)))).join(' '),
      });
  };

const commands = {
  async connect({ endpoint, region, chatDetails }) {
    connect.ChatSession.setGlobalConfig({
      region,
      endpoint,
      webSocketManagerConfig: { isNetworkOnline: () => true },
      loggerConfig: {
        customizedLogger: {
          debug: logger('debug'),
          info: logger('info'),
          warn: logger('warn'),
          error: logger('error'),
        },
        advancedLogWriter: 'warn',
        level: connect.LogLevel.WARN,
      },
    });
    session = connect.ChatSession.create({
      chatDetails,
      type: 'CUSTOMER',
      options: { region },
      disableCSM: true,
    });
    const handlers = [
      'onMessage',
      'onTyping',
      'onReadReceipt',
      'onDeliveredReceipt',
      'onConnectionEstablished',
      'onConnectionLost',
      'onConnectionBroken',
      'onEnded',
      'onDeepHeartbeatSuccess',
      'onDeepHeartbeatFailure',
    ];
    for (const name of handlers) {
      session[name]((event) => {
        // onConnectionEstablished fires twice (probe §4.1 quirk 3); the keys tell the two apart.
        if (name === 'onConnectionEstablished') report(name, { keys: Object.keys(event ?? {}) });
        else report(name, event?.data ?? event);
      });
    }
    const result = await session.connect();
    return { keys: Object.keys(result ?? {}) };
  },
  async send({ content, contentType }) {
    const response = await session.sendMessage({ message: content, contentType });
    return response.data;
  },
  async sendEvent({ contentType, content, wait }) {
    const pending = session.sendEvent({ contentType, content });
    // Receipt promises may never settle in chatjs 5.0.0 (probe §4.1 quirk 2): only await on request.
    if (!wait) {
      pending.catch((error) => report('sendEventFailed', { error: errorText(error) }));
      return null;
    }
    return (await pending).data;
  },
  async transcript(args) {
    const response = await session.getTranscript(args ?? {});
    return response.data;
  },
  async disconnect() {
    await session.disconnectParticipant();
    return null;
  },
  /** The clean teardown without ending the chat: closes the socket with 1000 and stops all timers. */
  async breakConnection() {
    session?.controller?.breakConnection();
    return null;
  },
};

process.on('message', async (message) => {
  const { id, cmd, args } = message;
  try {
    const handler = commands[cmd];
    if (!handler) throw new Error(`unknown command ${cmd}`);
    const value = await handler(args ?? {});
    process.send({ type: 'reply', id, ok: true, value: plain(value) }, () => {});
  } catch (error) {
    process.send({ type: 'reply', id, ok: false, error: errorText(error) }, () => {});
  }
});

// The parent going away ends this process, whatever chatjs timers are pending.
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
