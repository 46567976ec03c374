import { ConnectClient, type ConnectClientConfig } from '@aws-sdk/client-connect';
import { ConnectParticipantClient } from '@aws-sdk/client-connectparticipant';

export interface AwsClientOptions {
  /** AWS Region of the Connect instance. */
  region: string;
  /** Endpoint override for both services (the local emulator); unset for real AWS. */
  endpoint?: string;
  /**
   * Credentials for the Connect API (SigV4). Default: the SDK's default provider chain.
   * The Participant Service always gets static dummy credentials: it authenticates by bearer token only.
   */
  credentials?: ConnectClientConfig['credentials'];
  /** Per-request timeout (ms) after the connection is made. Default 10 000. */
  requestTimeoutMs?: number;
  /** TCP connect timeout (ms). Default 3 000. */
  connectionTimeoutMs?: number;
  /** Keep-alive sockets per client. Default 50. */
  maxSockets?: number;
}

export interface AwsClients {
  connect: ConnectClient;
  participant: ConnectParticipantClient;
}

/**
 * The Participant Service ignores SigV4, but the v3 client insists on signing with something
 * (protocol.md §2.1); non-empty dummy keys are the safe choice.
 */
const PARTICIPANT_CREDENTIALS = {
  accessKeyId: 'connect-bot',
  secretAccessKey: 'unused-by-participant-service',
};

const cache = new Map<string, AwsClients>();
const participantCache = new Map<string, ConnectParticipantClient>();
const identities = new WeakMap<object, number>();
let nextIdentity = 1;

/** A number per credentials object or provider function, for the cache key. */
function identity(credentials: object): number {
  let id = identities.get(credentials);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(credentials, id);
  }
  return id;
}

/**
 * One `ConnectClient` and one `ConnectParticipantClient` per region and endpoint per process (and per set of
 * timeouts and credentials, when a caller gives its own), shared by every chat: tokens travel per call, so
 * clients never need to be per chat (deployment-scale.md §4.2). Cached for the life of the process: give
 * every ChatClient of one account the same credentials object or provider, not a new one each time.
 * Retries are done by connect-bot itself (quota-aware), so the SDK makes a single attempt.
 */
export function awsClients(options: AwsClientOptions): AwsClients {
  const requestHandler = {
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    // Without it the handler only logs a warning when requestTimeout passes and the call waits on for ever.
    throwOnRequestTimeout: true,
    httpAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 50 },
    httpsAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 50 },
  };
  // Shared only between callers that asked for the same thing: the same endpoint, timeouts and sockets, and for
  // the Connect API the same credentials (object or provider; none means the SDK's default chain). The
  // Participant Service client has no credentials of its own to tell apart.
  const transport = [
    options.region,
    options.endpoint ?? '',
    requestHandler.requestTimeout,
    requestHandler.connectionTimeout,
    requestHandler.httpAgent.maxSockets,
  ].join('|');
  const key = `${transport}|${options.credentials ? identity(options.credentials) : ''}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const common = {
    region: options.region,
    maxAttempts: 1,
    requestHandler,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
  const clients: AwsClients = {
    connect: new ConnectClient({
      ...common,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    }),
    participant:
      participantCache.get(transport) ??
      new ConnectParticipantClient({ ...common, credentials: PARTICIPANT_CREDENTIALS }),
  };
  participantCache.set(transport, clients.participant);
  cache.set(key, clients);
  return clients;
}

/** Destroys and forgets every cached client (tests and shutdown). */
export function destroyAwsClients(): void {
  for (const clients of cache.values()) clients.connect.destroy();
  for (const participant of participantCache.values()) participant.destroy();
  cache.clear();
  participantCache.clear();
}
