import WebSocket from 'ws';

export interface Frame {
  topic?: string;
  content?: unknown;
  message?: string;
  statusCode?: number;
  [key: string]: unknown;
}

/**
 * A bare test websocket client that records every frame and lets a test await the next one that matches.
 * Deliberately independent of the runtime's transport code.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }> = [];
  private closeWaiters: Array<(c: { code: number; reason: string }) => void> = [];

  private constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data) => {
      const text = data.toString();
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        frame = { raw: text };
      }
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const resolve of this.closeWaiters) resolve(this.closed);
      this.closeWaiters = [];
    });
  }

  static open(url: string, timeoutMs = 5000): Promise<TestSocket> {
    const socket = new TestSocket(url);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('websocket open timed out')), timeoutMs);
      socket.ws.once('open', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Opens a socket and subscribes to aws/chat, waiting for the ack. */
  static async subscribed(url: string): Promise<TestSocket> {
    const socket = await TestSocket.open(url);
    socket.send({ topic: 'aws/subscribe', content: { topics: ['aws/chat'] } });
    await socket.next((f) => f.topic === 'aws/subscribe');
    return socket;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame (from now, or already received after index `from`) that matches. */
  next(match: (f: Frame) => boolean, timeoutMs = 5000, from = this.frames.length): Promise<Frame> {
    const existing = this.frames.slice(from).find(match);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        from,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(from))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Chat items pushed on aws/chat so far (content parsed). */
  items(): Array<Record<string, unknown>> {
    return this.frames
      .filter((f) => f.topic === 'aws/chat')
      .map((f) => JSON.parse(f.content as string) as Record<string, unknown>);
  }

  /** The next pushed chat item that matches. */
  async nextItem(
    match: (item: Record<string, unknown>) => boolean,
    timeoutMs = 5000,
  ): Promise<Record<string, unknown>> {
    const frame = await this.next(
      (f) => f.topic === 'aws/chat' && match(JSON.parse(f.content as string) as Record<string, unknown>),
      timeoutMs,
      0,
    );
    return JSON.parse(frame.content as string) as Record<string, unknown>;
  }

  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
