/**
 * "Ours": held chats through the runtime's real join path (CreateParticipant, CreateParticipantConnection,
 * websocket, subscribe, transcript positioning), one {@link ChatClient} for all of them, default timings
 * (10 s heartbeat on the shared scheduler). Driven by bench/held-chats.ts over IPC.
 */
// The session stack only (not the whole runtime behind src/index.ts): what holds the chats is measured.
import { ChatClient } from '../src/session/client.js';
import type { ChatItem } from '../src/session/items.js';
import type { ChatSession } from '../src/session/session.js';
import { tuneV8ForHeldChats } from '../src/session/tuning.js';
import { type Holder, heldChatsApi, type LatencyRecorder } from './lib/held.js';
import { serve } from './lib/ipc.js';

export interface OursConfig {
  endpoint: string;
  region: string;
  instanceId: string;
}

// What `connect-bot start` does by default (config host.v8Tuning).
tuneV8ForHeldChats();

const config = JSON.parse(process.argv[2] ?? '{}') as OursConfig;
const client = new ChatClient({
  region: config.region,
  endpoint: config.endpoint,
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});

let recorder: LatencyRecorder | undefined;
/** One listener function shared by every session: what a host's dispatcher would look like. */
function onMessage(item: ChatItem): void {
  recorder?.record(item.Content);
}

const holder: Holder<string> = {
  async open(contactId, latency) {
    recorder = latency;
    const session: ChatSession = await client.join({
      instanceId: config.instanceId,
      contactId,
      displayName: 'Bench',
    });
    session.on('message', onMessage);
  },
  alive() {
    let open = 0;
    for (const session of client.sessions) if (session.state === 'open') open++;
    return open;
  },
  closeAll() {
    client.closeAll();
  },
};

const api = heldChatsApi(holder);
export type OursApi = typeof api;
serve(api);
