import { ConnectClient } from '@aws-sdk/client-connect';
import { ConnectParticipantClient } from '@aws-sdk/client-connectparticipant';

/** Dummy keys: the emulator ignores SigV4, and the participant client insists on some credentials. */
export const dummyCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'emulator-secret' };

/** Real SDK clients pointed at an emulator. `maxAttempts: 1` so injected errors are not retried invisibly. */
export function sdkClients(endpoint: string, region = 'us-east-1', maxAttempts = 1) {
  return {
    connect: new ConnectClient({ endpoint, region, credentials: dummyCredentials, maxAttempts }),
    participant: new ConnectParticipantClient({
      endpoint,
      region,
      credentials: dummyCredentials,
      maxAttempts,
    }),
  };
}
