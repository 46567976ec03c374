import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Emulator, ParticipantRef } from './emulator.js';
import { ApiError } from './errors.js';
import { LOAD_LIMITS } from './load.js';
import { MAX_TIMER_MS } from './state.js';
import { parseJsonObject, readBody, sendJson } from './wire.js';

const role = z.enum(['AGENT', 'CUSTOMER', 'SYSTEM', 'CUSTOM_BOT', 'SUPERVISOR']);
const target = z.union([
  z.object({ participantId: z.string().min(1) }),
  z.object({ contactId: z.string().min(1), role }),
]);
const optionalTarget = z.union([target, z.object({})]);

const schemas = {
  // The shape only: startChat applies StartChatContact's own rules, with its error (InvalidParameterException).
  chat: z.object({
    displayName: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    initialMessage: z.string().optional(),
    durationMinutes: z.number().optional(),
  }),
  agent: z.object({ displayName: z.string().min(1).max(256).optional() }),
  message: z.object({
    content: z.string().min(1),
    contentType: z.string().optional(),
    as: z.string().optional(),
  }),
  end: z.object({ by: z.enum(['customer', 'system']).optional() }),
  drop: target.and(z.object({ mode: z.enum(['clean', 'abrupt']).optional() })),
  heartbeats: target.and(z.object({ dropPushes: z.boolean().optional() })),
  failNext: optionalTarget.and(
    z.object({
      operation: z.string().min(1),
      count: z.number().int().min(1).max(10_000).optional(),
      status: z.union([z.literal(429), z.literal(500)]).optional(),
      afterCommit: z.boolean().optional(),
    }),
  ),
  subscribeAcks: optionalTarget.and(z.object({ drop: z.number().int().min(0).max(10_000) })),
  expiries: target.and(
    z.object({
      expiry: z.string().nullable().optional(),
      connectionExpiry: z.string().nullable().optional(),
      connectionToken: z.null().optional(),
      count: z.number().int().min(0).max(10_000).optional(),
    }),
  ),
  nextTokens: target.and(z.object({ count: z.number().int().min(0).max(10_000).optional() })),
  quotas: z.object({
    enabled: z.boolean(),
    overrides: z
      .record(z.string(), z.object({ rate: z.number().positive(), burst: z.number().positive() }))
      .optional(),
  }),
  timings: z
    .object({
      botConnectWindowMs: z.number().int().positive().max(MAX_TIMER_MS),
      websocketUrlTtlMs: z.number().int().positive().max(MAX_TIMER_MS),
      connectionTokenTtlMs: z.number().int().positive().max(MAX_TIMER_MS),
      connectionExpiryMs: z.number().int().positive().max(MAX_TIMER_MS),
      maxSocketLifetimeMs: z.number().int().positive().max(MAX_TIMER_MS),
      idleSocketTimeoutMs: z.number().int().positive().max(MAX_TIMER_MS),
      endedSocketGraceMs: z.number().int().min(0).max(MAX_TIMER_MS),
      waitTimeoutMs: z.number().int().positive().max(MAX_TIMER_MS),
      lambdaTimeoutMs: z.number().int().positive().max(MAX_TIMER_MS),
    })
    .partial()
    .strict(),
  load: z
    .object({
      ratePerSecond: z.number().min(1).max(LOAD_LIMITS.maxRatePerSecond),
      durationMs: z.number().int().min(1).max(LOAD_LIMITS.maxDurationMs),
      tickMs: z.number().int().min(1).max(1000).optional(),
    })
    .strict(),
  pushes: optionalTarget.and(
    z.object({
      duplicate: z.number().int().min(0).optional(),
      reorder: z.number().int().min(0).optional(),
      lose: z.number().int().min(0).optional(),
    }),
  ),
};

function ref(input: object): ParticipantRef | undefined {
  if ('participantId' in input) return input.participantId as string;
  if ('contactId' in input && 'role' in input) return input as ParticipantRef;
  return undefined;
}

type Handler = (body: Record<string, unknown>, params: string[]) => unknown;

/**
 * The control API over HTTP, under `/_emulator/`: the same operations as the typed in-process API, for
 * scripts, the playground and tests in other processes. Answers JSON; errors are `{ error, message }`.
 */
export function controlRoutes(emulator: Emulator) {
  const table: Array<[method: string, pattern: RegExp, handler: Handler]> = [
    [
      'GET',
      /^\/_emulator\/info$/,
      () => ({
        endpoint: emulator.endpoint,
        region: emulator.region,
        instanceId: emulator.instanceId,
        contactFlowId: emulator.contactFlowId,
      }),
    ],
    ['GET', /^\/_emulator\/contacts$/, () => ({ contacts: emulator.contacts() })],
    ['POST', /^\/_emulator\/chats$/, (body) => emulator.startChat(schemas.chat.parse(body))],
    ['GET', /^\/_emulator\/contacts\/([^/]+)$/, (_, [id]) => emulator.contact(id!)],
    [
      'GET',
      /^\/_emulator\/contacts\/([^/]+)\/transcript$/,
      (_, [id]) => ({ Transcript: emulator.transcript(id!) }),
    ],
    [
      'POST',
      /^\/_emulator\/contacts\/([^/]+)\/agent$/,
      (body, [id]) => ({ participantId: emulator.agentJoins(id!, schemas.agent.parse(body).displayName) }),
    ],
    [
      'POST',
      /^\/_emulator\/contacts\/([^/]+)\/messages$/,
      (body, [id]) => {
        const input = schemas.message.parse(body);
        return emulator.say(id!, input.content, { as: input.as, contentType: input.contentType });
      },
    ],
    [
      'POST',
      /^\/_emulator\/contacts\/([^/]+)\/end$/,
      (body, [id]) => {
        emulator.endChat(id!, schemas.end.parse(body).by);
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/drop-sockets$/,
      (body) => {
        const input = schemas.drop.parse(body);
        return { closed: emulator.faults.dropSockets(ref(input)!, input.mode) };
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/stop-heartbeats$/,
      (body) => {
        const input = schemas.heartbeats.parse(body);
        return { sockets: emulator.faults.stopHeartbeats(ref(input)!, { dropPushes: input.dropPushes }) };
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/fail-next$/,
      (body) => {
        const input = schemas.failNext.parse(body);
        emulator.faults.failNext(input.operation, {
          count: input.count,
          status: input.status,
          participant: ref(input),
          afterCommit: input.afterCommit,
        });
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/quotas$/,
      (body) => {
        const input = schemas.quotas.parse(body);
        emulator.faults.quotas(input.enabled, input.overrides);
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/timings$/,
      (body) => {
        emulator.faults.setTimings(schemas.timings.parse(body));
        return { ...emulator.timings };
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/subscribe-acks$/,
      (body) => {
        const input = schemas.subscribeAcks.parse(body);
        emulator.faults.subscribeAcks(ref(input), { drop: input.drop });
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/expiries$/,
      (body) => {
        const { expiry, connectionExpiry, connectionToken, count, ...rest } = schemas.expiries.parse(body);
        emulator.faults.malformExpiries(ref(rest)!, {
          ...(expiry !== undefined ? { expiry } : {}),
          ...(connectionExpiry !== undefined ? { connectionExpiry } : {}),
          ...(connectionToken !== undefined ? { connectionToken } : {}),
          ...(count !== undefined ? { count } : {}),
        });
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/next-tokens$/,
      (body) => {
        const { count, ...rest } = schemas.nextTokens.parse(body);
        emulator.faults.repeatNextTokens(ref(rest)!, count !== undefined ? { count } : {});
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/pushes$/,
      (body) => {
        const input = schemas.pushes.parse(body);
        const { duplicate, reorder, lose } = input;
        emulator.faults.pushes(ref(input), { duplicate, reorder, lose });
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/expire-tokens$/,
      (body) => {
        emulator.faults.expireConnectionTokens(ref(target.parse(body))!);
        return {};
      },
    ],
    [
      'POST',
      /^\/_emulator\/faults\/clear$/,
      () => {
        emulator.faults.clear();
        return {};
      },
    ],
    ['POST', /^\/_emulator\/load$/, (body) => emulator.load.start(schemas.load.parse(body))],
    ['GET', /^\/_emulator\/load$/, () => emulator.load.status()],
    [
      'POST',
      /^\/_emulator\/load\/stop$/,
      () => {
        emulator.load.stop();
        return emulator.load.status();
      },
    ],
    [
      'GET',
      /^\/_emulator\/calls$/,
      () => ({ total: emulator.calls.count(), recent: emulator.calls.log.slice(-100) }),
    ],
  ];

  return async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    headers: Record<string, string>,
  ): Promise<void> => {
    try {
      const text = await readBody(req);
      for (const [method, pattern, handler] of table) {
        const match = pattern.exec(url.pathname);
        if (!match || method !== req.method) continue;
        const params = match.slice(1).map((p) => decodeURIComponent(p));
        sendJson(res, 200, handler(parseJsonObject(text), params) ?? {}, headers);
        return;
      }
      sendJson(
        res,
        404,
        { error: 'NotFound', message: `No control route ${req.method} ${url.pathname}` },
        headers,
      );
    } catch (error) {
      if (error instanceof URIError) {
        sendJson(
          res,
          400,
          { error: 'InvalidInput', message: 'a path label is not valid percent-encoding' },
          headers,
        );
      } else if (error instanceof z.ZodError) {
        const message = error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        sendJson(res, 400, { error: 'InvalidInput', message }, headers);
      } else if (error instanceof ApiError) {
        sendJson(res, error.status, { error: error.type, message: error.message }, headers);
      } else {
        sendJson(res, 500, { error: 'InternalError', message: (error as Error).message }, headers);
      }
    }
  };
}
