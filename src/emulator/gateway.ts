import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Clock, IdGenerator, TimerHandle } from './clock.js';
import type { Participant } from './model.js';
import type { ChatState, PushTarget } from './state.js';
import { parseFirstJsonValue } from './wire.js';

/** Frames above this size get a gateway error frame (API Gateway's 128 KB message limit). */
const MAX_FRAME_BYTES = 128 * 1024;
/** Frames above this are refused by `ws` itself with close code 1009. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

/** One open chat socket as the gateway sees it. */
export interface SocketInfo {
  connectionId: string;
  participantId: string;
  openedAt: number;
  subscribed: boolean;
  subscribeFrames: number;
  heartbeatsAnswered: number;
  /** Heartbeats received and ignored while the socket was a zombie ({@link Gateway.stopHeartbeats}). */
  heartbeatsEaten: number;
  /** `aws/ping` frames received, answered or not. */
  pings: number;
  /** Heartbeat and ping frames are ignored (zombie socket). */
  eatHeartbeats: boolean;
  /** Pushes are silently dropped as well (a fully dead path that still looks open). */
  dropPushes: boolean;
}

interface Conn extends SocketInfo {
  ws: WebSocket;
  lastFrameAt: number;
  timers: Set<TimerHandle>;
}

interface PushFaults {
  duplicate: number;
  reorder: number;
  /** Pushes that never reach a socket, as if lost in flight with a dying one (the transcript keeps them). */
  lose: number;
  /** Frames held back for a swap, per participant: a participant-less rule holds for several at once. */
  held: Map<string, { frame: string; timer: TimerHandle }>;
}

/** The counts of {@link Gateway.setPushFaults}; a count left out keeps its current value. */
export interface PushFaultCounts {
  duplicate?: number;
  reorder?: number;
  lose?: number;
}

const ALL = '*';

/**
 * The chat websocket gateway: subscribe acks, heartbeat and ping replies, `aws/chat` pushes, lifetime and
 * idle limits, and the socket-level fault knobs.
 */
export class Gateway implements PushTarget {
  private readonly server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD_BYTES,
  });
  private readonly sockets = new Map<string, Set<Conn>>();
  private readonly pushFaults = new Map<string, PushFaults>();
  /** Subscribe frames still to be ignored (no ack, not subscribed), per participant or for all ({@link ALL}). */
  private readonly droppedAcks = new Map<string, number>();
  /** Run right after the participant's next subscribe ack is sent, in the same tick (see afterNextAck). */
  private readonly afterAcks = new Map<string, () => void>();
  private sweepTimer: TimerHandle | undefined;
  /** Sockets ever opened, per participant: tests count reconnects with it. */
  readonly opened = new Map<string, number>();
  /** Upgrades refused (unknown, expired or revoked AuthToken, or a wrong path). */
  refusedUpgrades = 0;

  constructor(
    private readonly state: ChatState,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly log: (message: string) => void,
  ) {
    this.scheduleSweep();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      this.refusedUpgrades++;
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = url.searchParams.get('AuthToken') ?? '';
    const participant = url.pathname === '/ws' ? this.state.websocketParticipant(token) : undefined;
    if (!participant) {
      this.refusedUpgrades++;
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => this.attach(participant, ws));
  }

  private attach(participant: Participant, ws: WebSocket): void {
    const now = this.clock.now();
    const conn: Conn = {
      ws,
      connectionId: this.ids('connection'),
      participantId: participant.participantId,
      openedAt: now,
      lastFrameAt: now,
      subscribed: false,
      subscribeFrames: 0,
      heartbeatsAnswered: 0,
      heartbeatsEaten: 0,
      pings: 0,
      eatHeartbeats: false,
      dropPushes: false,
      timers: new Set(),
    };
    let set = this.sockets.get(participant.participantId);
    if (!set) {
      set = new Set();
      this.sockets.set(participant.participantId, set);
    }
    set.add(conn);
    this.opened.set(participant.participantId, (this.opened.get(participant.participantId) ?? 0) + 1);
    this.after(conn, this.state.timings.maxSocketLifetimeMs, () => ws.close(1001, 'Going away'));
    ws.on('message', (data, isBinary) => this.onFrame(conn, data as Buffer, isBinary));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      for (const timer of conn.timers) this.clock.clearTimeout(timer);
      set.delete(conn);
      if (set.size === 0) this.sockets.delete(participant.participantId);
    });
  }

  private onFrame(conn: Conn, data: Buffer, isBinary: boolean): void {
    conn.lastFrameAt = this.clock.now();
    if (data.length === 0) return;
    if (isBinary || data.length > MAX_FRAME_BYTES) {
      this.sendError(conn, data.length > MAX_FRAME_BYTES ? 'Message too long' : 'Forbidden');
      return;
    }
    const frame = parseFirstJsonValue(data.toString('utf8')) as
      | { topic?: unknown; content?: unknown }
      | undefined;
    if (
      typeof frame !== 'object' ||
      frame === null ||
      Array.isArray(frame) ||
      typeof frame.topic !== 'string'
    ) {
      this.sendError(conn, 'Forbidden');
      return;
    }
    switch (frame.topic) {
      case 'aws/subscribe':
      case 'aws/unsubscribe': {
        const topics = (frame.content as { topics?: unknown } | undefined)?.topics;
        const ok = Array.isArray(topics) && topics.includes('aws/chat');
        if (frame.topic === 'aws/subscribe') {
          conn.subscribeFrames++;
          if (this.takeDroppedAck(conn.participantId)) return;
          if (ok) conn.subscribed = true;
        } else if (ok) conn.subscribed = false;
        const status = ok ? 'success' : 'failure';
        this.send(
          conn,
          JSON.stringify({ topic: frame.topic, content: { status, topics: ok ? ['aws/chat'] : topics } }),
        );
        const after =
          ok && frame.topic === 'aws/subscribe' ? this.afterAcks.get(conn.participantId) : undefined;
        if (after) {
          this.afterAcks.delete(conn.participantId);
          after();
        }
        return;
      }
      case 'aws/heartbeat':
        if (conn.eatHeartbeats) {
          conn.heartbeatsEaten++;
          return;
        }
        conn.heartbeatsAnswered++;
        this.send(conn, '{"topic":"aws/heartbeat"}');
        return;
      case 'aws/ping':
        conn.pings++;
        if (conn.eatHeartbeats) return;
        this.send(conn, '{"topic":"aws/ping","statusCode":200,"statusContent":"OK"}');
        return;
      default:
        this.sendError(conn, 'Forbidden');
    }
  }

  private sendError(conn: Conn, message: string): void {
    this.send(
      conn,
      JSON.stringify({ message, connectionId: conn.connectionId, requestId: this.ids('request') }),
    );
  }

  private send(conn: Conn, frame: string): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(frame);
  }

  push(participant: Participant, frame: string): void {
    const faults = this.pushFaults.get(participant.participantId) ?? this.pushFaults.get(ALL);
    const held = faults?.held.get(participant.participantId);
    if (faults && faults.lose > 0) {
      faults.lose--;
      return;
    }
    if (faults && faults.reorder > 0 && !held) {
      faults.reorder--;
      // Hold this frame until the participant's next push has gone out; flush it anyway if nothing follows.
      const timer = this.clock.setTimeout(() => this.flushHeld(participant, faults), 1000);
      faults.held.set(participant.participantId, { frame, timer });
      return;
    }
    this.deliver(participant, frame);
    if (faults && held) this.flushHeld(participant, faults);
    if (faults && faults.duplicate > 0) {
      faults.duplicate--;
      this.deliver(participant, frame);
    }
  }

  private flushHeld(participant: Participant, faults: PushFaults): void {
    const held = faults.held.get(participant.participantId);
    if (!held) return;
    faults.held.delete(participant.participantId);
    this.clock.clearTimeout(held.timer);
    this.deliver(participant, held.frame);
  }

  private deliver(participant: Participant, frame: string): void {
    const set = this.sockets.get(participant.participantId);
    if (!set) return;
    for (const conn of set) {
      if (conn.subscribed && !conn.dropPushes) this.send(conn, frame);
    }
  }

  forget(participant: Participant): void {
    const id = participant.participantId;
    this.opened.delete(id);
    this.pushFaults.delete(id);
    this.droppedAcks.delete(id);
    this.afterAcks.delete(id);
  }

  closeSockets(participant: Participant, afterMs: number): void {
    const set = this.sockets.get(participant.participantId);
    if (!set) return;
    for (const conn of set) this.after(conn, afterMs, () => conn.ws.close(1000, 'Participant left'));
  }

  /** Closes a participant's sockets: `clean` sends close 1000, `abrupt` destroys the TCP connection (1006). */
  drop(participantId: string, mode: 'clean' | 'abrupt'): number {
    const set = this.sockets.get(participantId);
    if (!set) return 0;
    const conns = [...set];
    for (const conn of conns) {
      if (mode === 'clean') conn.ws.close(1000, 'Closed by emulator');
      else conn.ws.terminate();
    }
    return conns.length;
  }

  /** Makes the participant's currently open sockets zombies; sockets opened later behave normally. */
  stopHeartbeats(participantId: string, dropPushes: boolean): number {
    const set = this.sockets.get(participantId);
    for (const conn of set ?? []) {
      conn.eatHeartbeats = true;
      conn.dropPushes = dropPushes;
    }
    return set?.size ?? 0;
  }

  /**
   * The next `duplicate` pushes are sent twice; the next `reorder` pushes swap places with the push after them;
   * the next `lose` pushes are not sent at all.
   */
  setPushFaults(participantId: string | undefined, faults: PushFaultCounts): void {
    const key = participantId ?? ALL;
    const current = this.pushFaults.get(key) ?? { duplicate: 0, reorder: 0, lose: 0, held: new Map() };
    current.duplicate = faults.duplicate ?? current.duplicate;
    current.lose = faults.lose ?? current.lose;
    current.reorder = faults.reorder ?? current.reorder;
    this.pushFaults.set(key, current);
  }

  /** The next `count` `aws/subscribe` frames of the participant (of anyone, without one) get no ack. */
  dropSubscribeAcks(participantId: string | undefined, count: number): void {
    const key = participantId ?? ALL;
    if (count > 0) this.droppedAcks.set(key, count);
    else this.droppedAcks.delete(key);
  }

  /** Runs `then` right after the participant's next successful subscribe ack, in the same tick. */
  afterNextAck(participantId: string, then: () => void): void {
    this.afterAcks.set(participantId, then);
  }

  private takeDroppedAck(participantId: string): boolean {
    const key = this.droppedAcks.has(participantId) ? participantId : ALL;
    const left = this.droppedAcks.get(key);
    if (!left) return false;
    if (left > 1) this.droppedAcks.set(key, left - 1);
    else this.droppedAcks.delete(key);
    return true;
  }

  socketsOf(participantId: string): SocketInfo[] {
    return [...(this.sockets.get(participantId) ?? [])].map(
      ({ ws: _ws, timers: _timers, lastFrameAt: _at, ...info }) => info,
    );
  }

  get openSocketCount(): number {
    let count = 0;
    for (const set of this.sockets.values()) count += set.size;
    return count;
  }

  private after(conn: Conn, ms: number, callback: () => void): void {
    const handle = this.clock.setTimeout(() => {
      conn.timers.delete(handle);
      callback();
    }, ms);
    conn.timers.add(handle);
  }

  /** Re-arms the idle sweep, e.g. after the idle timeout changed. */
  restartSweep(): void {
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.scheduleSweep();
  }

  private scheduleSweep(): void {
    const every = Math.min(5000, Math.max(100, this.state.timings.idleSocketTimeoutMs / 4));
    this.sweepTimer = this.clock.setTimeout(() => {
      const now = this.clock.now();
      for (const set of this.sockets.values()) {
        for (const conn of set) {
          if (now - conn.lastFrameAt > this.state.timings.idleSocketTimeoutMs) {
            this.log(`closing idle socket ${conn.connectionId}`);
            conn.ws.close(1001, 'Going away');
          }
        }
      }
      this.scheduleSweep();
    }, every);
  }

  async close(): Promise<void> {
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    for (const faults of this.pushFaults.values())
      for (const held of faults.held.values()) this.clock.clearTimeout(held.timer);
    for (const set of this.sockets.values()) {
      for (const conn of set) {
        for (const timer of conn.timers) this.clock.clearTimeout(timer);
        conn.ws.terminate();
      }
    }
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
