export { type Clock, type IdGenerator, type IdKind, randomIds, sequentialIds, systemClock } from './clock.js';
export {
  type ContactView,
  DEFAULT_CONTACT_FLOW_ID,
  DEFAULT_INSTANCE_ID,
  Emulator,
  EmulatorFaults,
  type EmulatorOptions,
  type ParticipantRef,
  type ParticipantView,
  type StartChatInput,
  type StartedChat,
  startEmulator,
} from './emulator.js';
export type { CallRecord, FailRule } from './faults.js';
export { type FlowOptions, flowEvent } from './flow.js';
export type { SocketInfo } from './gateway.js';
export { LOAD_LIMITS, LoadGenerator, type LoadOptions, type LoadStatus } from './load.js';
export { type ChatItem, EVENT, type FlowOutcome, type ParticipantRole, type WaitResult } from './model.js';
export { DEFAULT_QUOTAS, type Rate } from './quotas.js';
export { DEFAULT_TIMINGS, type Timings } from './state.js';
