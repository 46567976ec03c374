import { type ChildProcess, fork } from 'node:child_process';

/** The commands a benchmark child serves: each takes one serialisable argument and returns a serialisable result. */
export type Api = Record<string, (arg: never) => unknown>;

type Request = { id: number; command: string; arg: unknown };
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** What a child sends once it is ready: its pid and open-files limit (`process.report` userLimits). */
export interface Ready {
  ready: true;
  pid: number;
  openFiles: { soft: number | string; hard: number | string };
}

/** A child must be able to hold `sockets` sockets plus its HTTP pool and the usual descriptors. */
export function checkFdLimit(name: string, ready: Ready, sockets: number): void {
  const soft = ready.openFiles.soft;
  if (soft !== 'unlimited' && Number(soft) < sockets + 500) {
    throw new Error(
      `${name}: open-files limit ${soft} is too low for ${sockets} sockets; raise it (ulimit -n ${sockets + 1000}) and rerun`,
    );
  }
}

/**
 * Child side: answers requests from the parent over the IPC channel, and exits when the channel goes away
 * (the parent exited or was killed), so no child outlives the benchmark.
 */
export function serve(api: Api): void {
  if (!process.send) throw new Error('a benchmark child must be started with an IPC channel');
  process.on('disconnect', () => process.exit(0));
  // A normal exit on stop(), so that --cpu-prof and similar BENCH_NODE_FLAGS write their files; a child with
  // its own SIGTERM handler (the emulator closes gracefully) exits through that one.
  process.once('SIGTERM', () => {
    if (process.listenerCount('SIGTERM') === 0) process.exit(0);
  });
  process.on('message', (message: Request) => {
    const reply = (r: Reply) => process.send?.(r);
    const handler = api[message.command];
    if (!handler) {
      reply({ id: message.id, ok: false, error: `unknown command ${message.command}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.arg as never))
      .then(
        (value) => reply({ id: message.id, ok: true, value: value ?? null }),
        (error: unknown) =>
          reply({ id: message.id, ok: false, error: (error as Error)?.stack ?? String(error) }),
      );
  });
  const limits = process.report.getReport() as { userLimits?: { open_files?: Ready['openFiles'] } };
  const ready: Ready = {
    ready: true,
    pid: process.pid,
    openFiles: limits.userLimits?.open_files ?? { soft: 'unknown', hard: 'unknown' },
  };
  process.send(ready);
}

const live = new Set<ChildProcess>();
let hooked = false;

/** Kills every child still running: on exit, on a signal, and on a crash of the orchestrator. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const child of live) child.kill('SIGKILL');
    live.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

export interface ChildOptions {
  /**
   * A program that runs Node, and its arguments before Node's own (`['valgrind', '--tool=callgrind']`): the child
   * is `wrapper[0] ...wrapper[1..] node --expose-gc script args`. The IPC channel's descriptor passes through.
   */
  wrapper?: string[];
  /** Node/V8 flags for this child, before BENCH_NODE_FLAGS. */
  nodeArgs?: string[];
  /** How long the child may take to start serving; 30 s unless set. */
  readyMs?: number;
}

/**
 * Parent side: a child process running the JavaScript file `script` with `--expose-gc`, and typed calls into the
 * {@link Api} it serves. Every call has a timeout; a child that dies fails every pending call.
 */
export class Child<A extends Api> {
  private readonly process: ChildProcess;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited: string | undefined;
  readonly ready: Promise<Ready>;

  constructor(
    readonly name: string,
    script: string,
    args: string[] = [],
    options: ChildOptions = {},
  ) {
    hookExit();
    const nodeArgs = [
      '--expose-gc',
      ...(options.nodeArgs ?? []),
      ...(name !== 'emulator' ? (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean) : []),
    ];
    const readyMs = options.readyMs ?? 30_000;
    this.process = fork(script, args, {
      // BENCH_NODE_FLAGS: extra Node/V8 flags for the chat-holding children (profiling, e.g. --trace-gc-nvp).
      ...(options.wrapper
        ? {
            execPath: options.wrapper[0],
            execArgv: [...options.wrapper.slice(1), process.execPath, ...nodeArgs],
          }
        : { execArgv: nodeArgs }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    live.add(this.process);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${readyMs} ms`)), readyMs);
      this.process.once('message', (message: Ready) => {
        clearTimeout(timer);
        resolve(message);
      });
      this.process.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready`));
      });
    });
    this.process.on('message', (message: Reply | Ready) => {
      if (!('id' in message)) return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    this.process.on('exit', (code, signal) => {
      live.delete(this.process);
      this.exited = `${name} exited (code ${code}, signal ${signal})`;
      for (const waiter of this.pending.values()) waiter.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Calls `command` in the child; rejects after `timeoutMs` or if the child dies. */
  call<K extends keyof A & string>(
    command: K,
    arg: Parameters<A[K]>[0],
    timeoutMs = 60_000,
  ): Promise<Awaited<ReturnType<A[K]>>> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as Awaited<ReturnType<A[K]>>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.process.send({ id, command, arg } satisfies Request);
    });
  }

  /** Stops the child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
