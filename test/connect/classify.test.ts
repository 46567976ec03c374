import { describe, expect, it } from 'vitest';
import type { ApiCallRecord } from '../../src/index.js';
import { setup } from '../support/harness.js';

describe('connect: error classification (src/connect/caller.ts classifyError)', () => {
  it('a failure before any request is sent (credentials) is neither a network failure nor retried', async () => {
    // README error table: "CB_NETWORK | A call got no answer (connection refused or reset, timeout)"; `aws.retries`:
    // "Retries of throttled, 5xx and network-failed calls"; apiCall outcome `network` feeds
    // bothost_connect_api_requests_total{outcome="network"}. Expected: when the SDK cannot even sign the request
    // (the credentials provider fails, e.g. a task role missing), nothing reached the service: one attempt, not
    // reported as a network failure. Before the fix: classifyError() maps every error without $metadata.httpStatusCode to
    // NetworkError, so the join makes 5 "attempts" (each taking a CreateParticipant quota token and a backoff),
    // records 5 apiCall outcome "network" while the emulator saw 0 requests, and fails with CB_NETWORK, which the
    // join endpoint answers as 502 "worth a retry" (README, join endpoint) for what is a configuration error.
    const { emulator, client } = await setup({
      client: {
        credentials: async () => {
          throw Object.assign(new Error('Could not load credentials from any providers'), {
            name: 'CredentialsProviderError',
          });
        },
      },
    });
    const calls: ApiCallRecord[] = [];
    client.on('apiCall', (call) => calls.push(call));
    const chat = emulator.startChat();
    const code = await client
      .join({ instanceId: emulator.instanceId, contactId: chat.contactId, displayName: 'Bot' })
      .then(
        () => 'joined',
        (error: { code?: string }) => error.code,
      );
    expect(emulator.calls.count('CreateParticipant')).toBe(0);
    expect({
      attempts: calls.length,
      networkOutcomes: calls.filter((c) => c.outcome === 'network').length,
    }).toEqual({
      attempts: 1,
      networkOutcomes: 0,
    });
    expect(code).toBe('CB_NO_CREDENTIALS');
    expect(calls.map((c) => c.outcome)).toEqual(['unsent']);
  });
});
