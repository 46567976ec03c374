import type { Contact } from './model.js';
import type { ChatState } from './state.js';

/** Where and how the simulated flow's Invoke Lambda block reaches the bot host. */
export interface FlowOptions {
  /** URL the flow-Lambda invocation event is POSTed to when a chat starts. */
  url: string;
  /** Sent as `Authorization: Bearer <secret>`, as a forwarding Lambda would. */
  secret?: string;
  /** The Invoke Lambda block's parameters (`Details.Parameters`), e.g. `{ bot: 'faq' }`. */
  parameters?: Record<string, string>;
}

/** The event Amazon Connect's Invoke Lambda block sends (`ContactFlowEvent`). */
export function flowEvent(
  state: ChatState,
  contact: Contact,
  parameters: Record<string, string> = {},
): Record<string, unknown> {
  return {
    Details: {
      ContactData: {
        Attributes: { ...contact.attributes },
        Channel: 'CHAT',
        ContactId: contact.contactId,
        CustomerEndpoint: null,
        CustomerId: null,
        Description: null,
        InitialContactId: contact.initialContactId,
        InitiationMethod: 'API',
        InstanceARN: state.instanceArn,
        LanguageCode: 'en-US',
        MediaStreams: { Customer: { Audio: null } },
        Name: null,
        PreviousContactId: contact.initialContactId,
        Queue: null,
        References: {},
        RelatedContactId: null,
        SegmentAttributes: { 'connect:Subtype': { ValueString: 'connect:Chat' } },
        SystemEndpoint: null,
        Tags: {},
      },
      Parameters: { ...parameters },
    },
    Name: 'ContactFlowEvent',
  };
}

/**
 * Simulates the part of a chat flow that matters to a custom bot: Invoke Lambda (the host's join endpoint),
 * then a Wait block with participant type Bot, whose outcome is kept on the contact.
 * Without a configured URL, the Wait starts as soon as a CUSTOM_BOT is created.
 */
export class FlowSimulator {
  options: FlowOptions | undefined;
  private readonly inflight = new Set<AbortController>();

  constructor(
    private readonly state: ChatState,
    options: FlowOptions | undefined,
    private readonly log: (message: string) => void,
  ) {
    this.options = options;
    state.on('contactStarted', (contact) => {
      if (this.options) void this.invoke(contact, this.options);
    });
    state.on('participant', (contact, participant) => {
      if (!this.options && participant.role === 'CUSTOM_BOT' && participant.state === 'pending') {
        state.startWait(contact);
      }
    });
  }

  private async invoke(contact: Contact, options: FlowOptions): Promise<void> {
    contact.flow.lambda = { status: 'pending' };
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = this.state.clock.setTimeout(() => controller.abort(), this.state.timings.lambdaTimeoutMs);
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.secret ? { authorization: `Bearer ${options.secret}` } : {}),
        },
        body: JSON.stringify(flowEvent(this.state, contact, options.parameters)),
        signal: controller.signal,
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // A non-JSON answer is kept as text; the Lambda block fails on it below.
      }
      const ok = response.ok && (body as { status?: unknown } | null)?.status === 'success';
      contact.flow.lambda = {
        status: ok ? 'succeeded' : 'failed',
        statusCode: response.status,
        response: body,
      };
      if (!ok) this.log(`flow lambda for ${contact.contactId} failed with HTTP ${response.status}`);
      this.state.emit('outcome', contact);
      if (ok) this.state.startWait(contact);
    } catch (error) {
      const reason = controller.signal.aborted ? 'timed out' : (error as Error).message;
      contact.flow.lambda = { status: 'failed', error: reason };
      this.log(`flow lambda for ${contact.contactId} failed: ${reason}`);
      this.state.emit('outcome', contact);
    } finally {
      this.state.clock.clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }

  close(): void {
    for (const controller of this.inflight) controller.abort();
  }
}
