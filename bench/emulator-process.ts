/**
 * The emulator in its own process for the benchmark. Chats and the floor's bot connections are set up
 * through its in-process API (bulk set-up is not what is measured); the inbound load goes through the HTTP
 * control API (`POST /_emulator/load`). Exits when the orchestrator's IPC channel goes away.
 */
import { startEmulator } from '../src/emulator/index.js';
import { serve } from './lib/ipc.js';

const emulator = await startEmulator({
  // Chats here live minutes; keep every lifetime far beyond the benchmark so none ends or rotates mid-run.
  timings: { waitTimeoutMs: 6 * 60 * 60_000, idleSocketTimeoutMs: 60 * 60_000 },
});

const api = {
  info: () => ({
    endpoint: emulator.endpoint,
    region: emulator.region,
    instanceId: emulator.instanceId,
  }),
  /** Starts `count` chats (customer only, as StartChatContact); returns their contact ids. */
  startChats: ({ count }: { count: number }) =>
    Array.from({ length: count }, () => emulator.startChat({ displayName: 'Customer' }).contactId),
  /**
   * For the floor client: adds a connected CUSTOM_BOT to each contact (CreateParticipant, then
   * CreateParticipantConnection with ConnectParticipant) and returns the websocket URLs (valid 100 s).
   */
  connectBots: ({ contactIds }: { contactIds: string[] }) =>
    contactIds.map((contactId) => {
      const bot = emulator.state.createParticipant({ contactId, displayName: 'Floor' });
      const connection = emulator.state.createConnection(bot.participantToken, {
        websocket: true,
        credentials: true,
        connectParticipant: true,
      });
      return connection.Websocket!.Url;
    }),
  /** Ends chats (as StopContact): their sockets close shortly after. */
  endChats: ({ contactIds }: { contactIds: string[] }) => {
    for (const contactId of contactIds) emulator.endChat(contactId, 'system');
  },
  openSockets: () => emulator.gateway.openSocketCount,
};

export type EmulatorApi = typeof api;
serve(api);
process.on('SIGTERM', () => void emulator.close().finally(() => process.exit(0)));
