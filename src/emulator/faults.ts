import { type ApiError, internalError, type Service, throttled } from './errors.js';

/** A rule that makes the next `count` calls of `operation` fail. */
export interface FailRule {
  /** The operation name as the SDK knows it, e.g. `SendMessage`, `CreateParticipantConnection`. */
  operation: string;
  count: number;
  /** 429 fails with ThrottlingException, 500 with InternalServerException (Connect: InternalServiceException). */
  status: 429 | 500;
  /** Only calls made by this participant fail; others pass. */
  participantId?: string;
  /**
   * The call takes effect and only its answer is the error, as when a response is lost on the way back: a
   * client that retries must reuse its ClientToken or act twice.
   */
  afterCommit?: boolean;
}

/** An error chosen by a {@link FailRule}, and whether the call still runs first. */
export interface InjectedFailure {
  error: ApiError;
  afterCommit: boolean;
}

export interface CallRecord {
  operation: string;
  status: number;
  participantId?: string;
  /** The request's ClientToken, if it carried one: shows whether retries reused it. */
  clientToken?: string;
  at: number;
}

const CALL_LOG_LIMIT = 10_000;

/** Counts every API call and fails the ones that a {@link FailRule} selects. */
export class CallFaults {
  private rules: FailRule[] = [];
  private readonly counts = new Map<string, number>();
  /** The most recent calls, oldest first (bounded). */
  readonly log: CallRecord[] = [];

  failNext(rule: FailRule): void {
    if (rule.count > 0) this.rules.push({ ...rule });
  }

  clear(): void {
    this.rules = [];
  }

  /** The injected error for this call, if a rule selects it. */
  check(operation: string, service: Service, participantId: string | undefined): InjectedFailure | undefined {
    const rule = this.rules.find(
      (r) =>
        r.operation === operation && (r.participantId === undefined || r.participantId === participantId),
    );
    if (!rule) return undefined;
    rule.count--;
    if (rule.count <= 0) this.rules = this.rules.filter((r) => r !== rule);
    const error = rule.status === 429 ? throttled(operation) : internalError(service, 'Injected failure');
    return { error, afterCommit: rule.afterCommit ?? false };
  }

  record(call: CallRecord): void {
    this.counts.set(call.operation, (this.counts.get(call.operation) ?? 0) + 1);
    this.log.push(call);
    if (this.log.length > CALL_LOG_LIMIT) this.log.splice(0, this.log.length - CALL_LOG_LIMIT);
  }

  /** How many calls of `operation` arrived (any outcome), or of every operation. */
  count(operation?: string, filter?: { participantId?: string; status?: number }): number {
    if (!filter) {
      if (operation) return this.counts.get(operation) ?? 0;
      let total = 0;
      for (const n of this.counts.values()) total += n;
      return total;
    }
    return this.log.filter(
      (c) =>
        (!operation || c.operation === operation) &&
        (filter.participantId === undefined || c.participantId === filter.participantId) &&
        (filter.status === undefined || c.status === filter.status),
    ).length;
  }
}
