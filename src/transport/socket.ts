import WebSocket from 'ws';
import { ConnectBotError, ErrorCode } from '../errors.js';
import { connectorFor } from './connection.js';
import {
  controlReply,
  decodeFrame,
  HEARTBEAT_BYTES,
  PING_BYTES,
  SUBSCRIBE_FRAME,
  type WireItem,
} from './frames.js';
import type { ScheduledTask, Scheduler } from './scheduler.js';

/** Receives what a {@link ChatSocket} hears. A socket knows nothing of sessions; its owner implements this. */
export interface SocketListener {
  onSocketItem(socket: ChatSocket, item: WireItem): void;
  /** The socket closed, whoever closed it. Not called for closes the owner asked for with `close()`. */
  onSocketClose(socket: ChatSocket, code: number, reason: string): void;
  /** A gateway error frame (`{"message": ...}`), e.g. "Forbidden". Informational. */
  onSocketGatewayError?(socket: ChatSocket, message: string): void;
}

export interface SubscribeOptions {
  /** Wait this long for the ack before resending (1 s, as chatjs does). */
  ackTimeoutMs: number;
  /** Resends after the first subscribe before giving up (3). */
  resends: number;
}

const TEXT_FRAME = { binary: false } as const;

/** The {@link ChatSocket} that owns a websocket, so one set of listener functions serves every socket. */
const kOwner = Symbol('ChatSocket');
type OwnedWebSocket = WebSocket & { [kOwner]: ChatSocket };

// Listeners shared by every socket (`this` is the websocket), added once and never removed: no closures and
// no context objects per chat, which at 10 000 held chats is most of what the socket layer adds to ws.
function onWsOpen(this: WebSocket): void {
  (this as OwnedWebSocket)[kOwner].onOpen();
}
function onWsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as OwnedWebSocket)[kOwner].onMessage(data, isBinary);
}
function onWsClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as OwnedWebSocket)[kOwner].onClose(code, reason.toString());
}
// 'error' is always followed by 'close'; the close path handles recovery.
function onWsError(): void {}

/**
 * One chat websocket: open, subscribe with a verified ack, heartbeat bookkeeping, frame decoding.
 * Created per connection; a rotation or reconnect makes a new one.
 */
export class ChatSocket {
  private readonly ws: OwnedWebSocket;
  /** Set by close()/terminate(): the owner asked for it, so no onSocketClose. */
  private closedByOwner = false;
  private subscribed = false;
  /** Until the socket opens: settles {@link ChatSocket.open}'s promise; `task` is the open timeout. */
  private opening:
    | { resolve: (socket: ChatSocket) => void; reject: (e: Error) => void; task: ScheduledTask }
    | undefined;
  private ackWaiter:
    | { resolve: () => void; reject: (e: Error) => void; task?: ScheduledTask; left: number }
    | undefined;
  /** A heartbeat went out and its reply has not come back yet. */
  private awaitingHeartbeat = false;
  /** Forces the TCP socket shut if the peer never answers our close frame. */
  private killTask: ScheduledTask | undefined;

  private constructor(
    url: string,
    private readonly listener: SocketListener,
    private readonly scheduler: Scheduler,
  ) {
    // permessage-deflate off: the ws docs warn about its memory and CPU cost, and chat frames are small.
    // No `handshakeTimeout`: ws would arm a socket timeout whose cleared Timeout the TCP socket keeps for
    // its whole life; the scheduler times the opening instead (see open()).
    // The connector reads every chat socket into one shared buffer (connection.ts).
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: 4 << 20,
      createConnection: connectorFor(url),
    }) as OwnedWebSocket;
    ws[kOwner] = this;
    ws.on('open', onWsOpen);
    ws.on('message', onWsMessage);
    ws.on('close', onWsClose);
    ws.on('error', onWsError);
    this.ws = ws;
  }

  /**
   * Opens a socket; rejects with `CB_SOCKET_FAILED` when it cannot be opened in `openTimeoutMs`, or once `signal`
   * aborts (the connection under way is cut, not left to its timeout).
   */
  static open(
    url: string,
    listener: SocketListener,
    scheduler: Scheduler,
    openTimeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ChatSocket> {
    const socket = new ChatSocket(url, listener, scheduler);
    const opened = new Promise<ChatSocket>((resolve, reject) => {
      const task = scheduler.schedule(openTimeoutMs, () =>
        socket.failOpen(`websocket did not open in ${openTimeoutMs} ms`),
      );
      socket.opening = { resolve, reject, task };
    });
    if (!signal) return opened;
    const abort = () => socket.failOpen('websocket opening given up');
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    return opened.finally(() => signal.removeEventListener('abort', abort));
  }

  /** @internal */
  onOpen(): void {
    const opening = this.opening;
    if (!opening) return;
    this.opening = undefined;
    this.scheduler.cancel(opening.task);
    opening.resolve(this);
  }

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return;
    const reply = controlReply(data);
    if (reply === 'heartbeat') this.awaitingHeartbeat = false;
    else if (reply === undefined) this.onFrame(data.toString());
  }

  private failOpen(message: string): void {
    const opening = this.opening;
    if (!opening) return;
    this.opening = undefined;
    this.scheduler.cancel(opening.task);
    this.closedByOwner = true;
    this.ws.terminate();
    opening.reject(new ConnectBotError(ErrorCode.SocketFailed, message));
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get isSubscribed(): boolean {
    return this.subscribed;
  }

  /**
   * Subscribes to `aws/chat` and resolves on the server's success ack. Resends up to `resends` times,
   * `ackTimeoutMs` apart, then rejects with `CB_SUBSCRIBE_FAILED`.
   */
  subscribe(options: SubscribeOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ackWaiter = { resolve, reject, left: options.resends };
      const attempt = () => {
        const waiter = this.ackWaiter;
        if (!waiter) return;
        this.send(SUBSCRIBE_FRAME);
        waiter.task = this.scheduler.schedule(options.ackTimeoutMs, () => {
          if (waiter.left-- > 0) attempt();
          else this.failSubscribe('no subscribe acknowledgement');
        });
      };
      attempt();
    });
  }

  /**
   * Sends `aws/heartbeat` (and `aws/ping` when `ping`) if the previous heartbeat was answered, and reports
   * whether it was. `false` means the socket is a zombie: it looks open but nothing comes back; nothing is sent.
   */
  heartbeat(ping: boolean): boolean {
    if (this.awaitingHeartbeat) return false;
    this.awaitingHeartbeat = true;
    this.send(HEARTBEAT_BYTES);
    if (ping) this.send(PING_BYTES);
    return true;
  }

  /** Closes with 1000; the owner gets no onSocketClose for it. */
  close(reason = 'Client closing'): void {
    this.closedByOwner = true;
    this.failSubscribe('the socket was closed'); // a subscribe under way must not wait forever
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000, reason);
      // A peer that never answers the close must not keep the TCP socket (and the process) alive.
      this.killTask = this.scheduler.schedule(3000, () => this.ws.terminate());
    }
  }

  /** Drops the TCP connection at once (zombie sockets). */
  terminate(): void {
    this.closedByOwner = true;
    this.failSubscribe('the socket was closed');
    this.ws.terminate();
  }

  /** Buffers go out as text frames, like strings. */
  private send(frame: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame, TEXT_FRAME);
  }

  private onFrame(text: string): void {
    const frame = decodeFrame(text);
    switch (frame.kind) {
      case 'item':
        this.listener.onSocketItem(this, frame.item);
        return;
      case 'heartbeat':
        this.awaitingHeartbeat = false;
        return;
      case 'subscribe':
        if (frame.ok) {
          this.subscribed = true;
          const waiter = this.ackWaiter;
          this.clearAck();
          waiter?.resolve();
        }
        // A failure status is retried by the pending attempt timer.
        return;
      case 'gateway-error':
        this.listener.onSocketGatewayError?.(this, frame.message);
        return;
      default:
    }
  }

  /** @internal */
  onClose(code: number, reason: string): void {
    if (this.opening) {
      this.failOpen(`websocket closed while opening (code ${code})`);
      return;
    }
    this.scheduler.cancel(this.killTask);
    this.failSubscribe(`socket closed (code ${code})`);
    if (!this.closedByOwner) {
      this.closedByOwner = true;
      this.listener.onSocketClose(this, code, reason);
    }
  }

  private failSubscribe(message: string): void {
    const waiter = this.ackWaiter;
    if (!waiter) return;
    this.clearAck();
    waiter.reject(new ConnectBotError(ErrorCode.SubscribeFailed, `aws/subscribe failed: ${message}`));
  }

  private clearAck(): void {
    if (this.ackWaiter) this.scheduler.cancel(this.ackWaiter.task);
    this.ackWaiter = undefined;
  }
}
