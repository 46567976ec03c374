import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the child reports: chatjs session callbacks (`onMessage`, `onEnded`, ...), library logs, failures. */
export interface ChatjsEvent {
  name: string;
  at: number;
  data: unknown;
}

export interface ChatDetails {
  ContactId: string;
  ParticipantId: string;
  ParticipantToken: string;
}

type ChildMessage =
  | { type: 'ready' }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | ({ type: 'event' } & ChatjsEvent);

const CHILD = fileURLToPath(new URL('./chatjs-child.mjs', import.meta.url));

/**
 * A real amazon-connect-chatjs 5.0.0 customer, running in its own child process (chatjs keeps process-global
 * state, chatjs-probe.md §5), driven over IPC. Every wait has a timeout.
 *
 * @example
 * const customer = await ChatjsCustomer.start();
 * await customer.connect(emulator.endpoint, emulator.region, details);
 * await customer.established();
 * await customer.close();
 */
export class ChatjsCustomer {
  readonly events: ChatjsEvent[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<() => void>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'reply') {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(new Error(`chatjs: ${message.error}`));
      } else if (message.type === 'event') {
        this.events.push({ name: message.name, at: message.at, data: message.data });
        for (const listener of this.listeners) listener();
      }
    });
    child.on('exit', () => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error('chatjs child exited'));
      this.pending.clear();
    });
  }

  /** Forks the child and waits until chatjs is loaded. */
  static async start(timeoutMs = 15_000): Promise<ChatjsCustomer> {
    const child = fork(CHILD, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('chatjs child did not start'));
      }, timeoutMs);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`chatjs child exited with ${code}`));
      });
    });
    return new ChatjsCustomer(child);
  }

  private call<T>(cmd: string, args: unknown = {}, timeoutMs = 10_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error('chatjs child exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`chatjs ${cmd} timed out after ${timeoutMs} ms${this.logTail()}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, cmd, args });
    });
  }

  /** `ChatSession.setGlobalConfig` + `create` + `connect()`. Resolves before the socket opens (probe §4.1). */
  connect(endpoint: string, region: string, chatDetails: ChatDetails): Promise<{ keys: string[] }> {
    return this.call('connect', {
      endpoint,
      region,
      chatDetails: {
        contactId: chatDetails.ContactId,
        participantId: chatDetails.ParticipantId,
        participantToken: chatDetails.ParticipantToken,
      },
    });
  }

  /** Waits for the socket-open `onConnectionEstablished` (the second one) or the first deep heartbeat success. */
  established(timeoutMs = 10_000): Promise<ChatjsEvent> {
    return this.next(
      (e) =>
        e.name === 'onDeepHeartbeatSuccess' ||
        (e.name === 'onConnectionEstablished' && (e.data as { keys: string[] }).keys.includes('data')),
      timeoutMs,
    );
  }

  send(content: string, contentType = 'text/plain'): Promise<{ Id: string; AbsoluteTime: string }> {
    return this.call('send', { content, contentType });
  }

  /** Sends an event. Not awaited in the child unless `wait` (receipt promises may never settle). */
  sendEvent(contentType: string, content?: string, wait = false): Promise<unknown> {
    return this.call('sendEvent', { contentType, content, wait });
  }

  transcript(args: Record<string, unknown> = {}): Promise<{ Transcript: Array<Record<string, unknown>> }> {
    return this.call('transcript', args);
  }

  disconnect(): Promise<void> {
    return this.call('disconnect');
  }

  /** Events named `name` so far. */
  named(name: string): ChatjsEvent[] {
    return this.events.filter((e) => e.name === name);
  }

  /** Message items (`onMessage` data) received so far. */
  messages(): Array<Record<string, unknown>> {
    return this.named('onMessage').map((e) => e.data as Record<string, unknown>);
  }

  /**
   * The first event at index ≥ `from` (default: any event so far) that matches, waiting up to `timeoutMs`.
   * Searching from the start matters: a push often reaches chatjs before the HTTP call that caused it returns.
   */
  next(match: (e: ChatjsEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<ChatjsEvent> {
    const found = () => this.events.slice(from).find(match);
    const existing = found();
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const listener = () => {
        const event = found();
        if (!event) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(event);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        const seen = this.events
          .slice(from)
          .map((e) => e.name)
          .join(', ');
        reject(new Error(`no matching chatjs event within ${timeoutMs} ms; saw [${seen}]${this.logTail()}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  /** The next `onMessage` whose item matches. */
  async nextMessage(
    match: (item: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const event = await this.next(
      (e) => e.name === 'onMessage' && match(e.data as Record<string, unknown>),
      timeoutMs,
    );
    return event.data as Record<string, unknown>;
  }

  private logTail(): string {
    const logs = this.named('log').slice(-5);
    return logs.length ? `\nlast chatjs logs:\n${logs.map((l) => JSON.stringify(l.data)).join('\n')}` : '';
  }

  /** Stops chatjs without ending the chat (socket closed with 1000), then ends the child process. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.call('breakConnection', {}, 2000).catch(() => {});
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
