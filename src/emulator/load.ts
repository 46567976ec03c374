import type { Clock, TimerHandle } from './clock.js';
import { conflict, invalidParameter, invalidRequest } from './errors.js';
import type { Contact, Participant } from './model.js';
import type { ChatState } from './state.js';

/** Upper bounds that keep any load run finite whatever a caller asks for. */
export const LOAD_LIMITS = { maxRatePerSecond: 100_000, maxDurationMs: 10 * 60_000 } as const;

export interface LoadOptions {
  /** Customer messages per second across all contacts (1–100 000). */
  ratePerSecond: number;
  /** How long to send (1 ms–10 min). The run sends `ratePerSecond × durationMs / 1000` messages, then stops. */
  durationMs: number;
  /** Wake-up interval of the send loop; each wake-up sends what is due by then (1–1000 ms, default 5). */
  tickMs?: number;
}

export interface LoadStatus {
  running: boolean;
  /** Messages the run sends in total. */
  planned: number;
  sent: number;
  /** Messages not sent because their contact ended or its customer left during the run. */
  skipped: number;
  /** Contacts the run spreads its messages across. */
  contacts: number;
  /** Emulator clock, ms since the epoch. */
  startedAt?: number;
  finishedAt?: number;
}

interface Run {
  targets: Array<{ contact: Contact; customer: Participant }>;
  next: number;
  rate: number;
  tickMs: number;
  status: LoadStatus & { startedAt: number };
}

/**
 * Steady inbound load for benchmarks: customer messages posted round-robin across the contacts that are
 * active when the run starts, at a fixed rate, from a timer loop bounded in count and in time.
 *
 * Each message's content is `load <seq> <sentAt>`, where `sentAt` is `performance.timeOrigin +
 * performance.now()` in ms (three decimals), taken just before the message is stored and pushed. Processes
 * on one machine share that time base, so a receiver's `performance.timeOrigin + performance.now() - sentAt`
 * is the push-to-receipt latency.
 *
 * @example
 * emulator.load.start({ ratePerSecond: 2000, durationMs: 20_000 });
 * // ... later
 * emulator.load.status(); // { running: false, planned: 40000, sent: 40000, ... }
 */
export class LoadGenerator {
  private run: Run | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly state: ChatState,
    private readonly clock: Clock,
  ) {}

  /** Starts a run and returns its status. A run already in progress is a ConflictException. */
  start(options: LoadOptions): LoadStatus {
    if (this.run?.status.running) throw conflict('A load run is in progress');
    const { ratePerSecond: rate, durationMs } = options;
    if (!(rate >= 1 && rate <= LOAD_LIMITS.maxRatePerSecond))
      throw invalidParameter('connect', `ratePerSecond must be 1-${LOAD_LIMITS.maxRatePerSecond}`);
    if (!(durationMs >= 1 && durationMs <= LOAD_LIMITS.maxDurationMs))
      throw invalidParameter('connect', `durationMs must be 1-${LOAD_LIMITS.maxDurationMs}`);
    const targets: Run['targets'] = [];
    for (const contact of this.state.contacts.values()) {
      if (contact.state !== 'active') continue;
      const customer = [...contact.participants.values()].find(
        (p) => p.role === 'CUSTOMER' && p.state !== 'left',
      );
      if (customer) targets.push({ contact, customer });
    }
    if (targets.length === 0) throw invalidRequest('connect', 'No active contact with a customer to load');
    this.run = {
      targets,
      next: 0,
      rate,
      tickMs: Math.min(Math.max(options.tickMs ?? 5, 1), 1000),
      status: {
        running: true,
        planned: Math.floor((rate * durationMs) / 1000),
        sent: 0,
        skipped: 0,
        contacts: targets.length,
        startedAt: this.clock.now(),
      },
    };
    this.tick();
    return this.status();
  }

  /** The current (or last) run's progress. */
  status(): LoadStatus {
    return this.run
      ? { ...this.run.status }
      : { running: false, planned: 0, sent: 0, skipped: 0, contacts: 0 };
  }

  /** Stops a run early; harmless when none runs. */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.run?.status.running) this.finish(this.run);
  }

  /** Sends what is due by now (catching up after a late wake-up), then sleeps until the next tick. */
  private tick(): void {
    this.timer = undefined;
    const run = this.run!;
    const { status } = run;
    const elapsed = this.clock.now() - status.startedAt;
    const due = Math.min(status.planned, Math.floor((elapsed * run.rate) / 1000));
    while (status.sent + status.skipped < due) this.sendOne(run);
    if (status.sent + status.skipped >= status.planned) this.finish(run);
    else this.timer = this.clock.setTimeout(() => this.tick(), run.tickMs);
  }

  private sendOne(run: Run): void {
    const seq = run.status.sent + run.status.skipped;
    const { contact, customer } = run.targets[run.next]!;
    run.next = (run.next + 1) % run.targets.length;
    if (contact.state !== 'active' || customer.state === 'left') {
      run.status.skipped++;
      return;
    }
    const sentAt = (performance.timeOrigin + performance.now()).toFixed(3);
    this.state.sendMessage(customer, { contentType: 'text/plain', content: `load ${seq} ${sentAt}` });
    run.status.sent++;
  }

  private finish(run: Run): void {
    run.status.running = false;
    run.status.finishedAt = this.clock.now();
  }
}
