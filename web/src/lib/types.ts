// Wire types of the callbridge v1 API (docs/api.md). Only what the client reads.
export interface Contact { id: string; name: string; company?: string; source?: string; match?: 'exact' | 'company'; number?: string }
// Per connection: the other party as seen from this connection (server-side lookup included).
export interface RemoteInfo {
  e164: string | null;
  extension: string | null;
  kind: 'external' | 'internal' | 'withheld' | 'unknown';
  display: string;
  international?: string;
  lookup: 'pending' | 'done' | 'none';
  contacts?: Contact[];
}
export interface Connection { device: string; state: string; remote?: string | null; since?: string; remote_info?: RemoteInfo | null }
// Why an action a user may expect is not offered (e.g. a phone without remote answer/hold), when
// the server says so: per device, action -> reason.
export interface Remote { number: string | null; display?: string; withheld?: boolean; contacts?: Contact[] }
export interface Call {
  id: string;
  tenant?: string;
  created_at?: string;
  connections: Connection[];
  remote?: Remote;
  allowed_actions?: Record<string, string[]>;
  unavailable_actions?: Record<string, Record<string, string> | { action: string; reason: string }[]>;
}
// `name`, `team`, `user`, `status`, `note` when the server sends them (presence with display names).
export interface Line { device: string; name?: string; state: string; team?: string; user?: string; status?: string; note?: string; forwarded_to?: string }
export interface Me { user: string; tenant: string; role: string; extensions: string[]; display_name?: string; team?: string }
export interface JournalEntry {
  id: number;
  call_id?: string;
  party: string;
  direction: 'inbound' | 'outbound' | 'internal';
  remote: string | null;
  remote_withheld?: boolean;
  remote_name?: string | null;
  disposition: string;
  started_at: string;
  answered_at?: string | null;
  ended_at: string;
  ring_s?: number;
  talk_s?: number;
  hold_s?: number;
  note?: string;
  contact?: Contact | null;
  transferred_to?: string | null;
  transferred_from?: string | null;
  callback_done?: boolean;
  done?: boolean;  // a missed call dealt with (servers with GET /journal/missed-count)
  // AnyDevice: the user's external device that carried the call (absent: the desk phone)
  device?: { name: string | null; number: string; private: boolean } | null;
  trunk_channel_s?: number;  // seconds of outside (trunk) channels the call occupied
  // fields callbridge did not see happen (link down, restart): any of started_at, answered_at,
  // ended_at, disposition (docs/journal.md "Faults")
  estimated?: string[];
}
export type ServerMessage =
  | { type: 'snapshot'; seq: number; calls: Call[]; lines: Line[] }
  | { type: 'resync'; seq: number }
  | { type: 'call'; seq: number; event: string; call: Call; device?: string; cause?: string | null }
  | { type: 'line'; seq: number; device: string; state: string }
  | { type: 'journal'; seq: number; entry: JournalEntry; resolves?: number[] }
  | { type: 'heartbeat'; seq: number }
  | { type: 'command'; seq?: number; command: CommandStatus }
  | { type: 'device'; seq: number; event: 'changed'; device: Device }
  | { type: 'device'; seq: number; event: 'removed'; id: string }
  | { type: 'queue'; seq: number; event: 'changed'; queue: Queue }
  | { type: 'queue'; seq: number; event: 'removed'; id: string; pbx: string; name: string }
  | { type: 'parking'; seq: number; event: 'parked' | 'changed' | 'left'; reason: string | null; by: string | null; parked_call: ParkedCall }
  | { type: 'user_status'; seq: number; user: string; display_name?: string; extensions?: string[]; user_status: UserStatus }
  | { type: 'user_devices'; seq?: number; change: string; devices: UserDevices }
  | { type: 'line_features'; seq: number; line: string; features: unknown }
  // Cluster mode: the owner of PBX link `pbx` resynchronized it; `calls` are its calls in progress,
  // `ended` those the client was shown that ended meanwhile (no message told of their end), each
  // list cut to what the client may see (docs/api.md "Event stream").
  | { type: 'calls_resynced'; seq: number; pbx: string; calls: string[]; ended?: string[] };
// AnyDevice: the user's own devices and the active one (GET /api/v1/me/devices, WS `user_devices`).
export interface UserDevice { name: string; kind: 'desk' | 'external'; number: string; private?: boolean; rings_first?: string; allowed?: boolean; reason?: string }
export interface UserDevices { user: string; active: string | null; chosen: boolean; devices: UserDevice[]; max_external: number; updated_by?: string | null }
// A user's own status (PUT /api/v1/me/status; docs/api.md "Presence").
export interface UserStatus { status: 'available' | 'away' | 'busy' | 'dnd' | 'offline'; note: string; until: string | null; updated_at: string | null }
// One device of the PBX's registry (GET /api/v1/devices, docs/devices.md).
export interface DeviceContact { uri: string; address: string; user_agent: string; status: string; dynamic: boolean; expires: string | null }
export interface Device {
  id: string; pbx: string; endpoint: string; extension: string; sip_user: string; user_agent: string;
  vendor: string; model: string; firmware: string; registration: 'registered' | 'unregistered' | 'static';
  address: string; status: 'on_hook' | 'off_hook' | 'ringing' | 'unknown' | 'offline';
  last_call_id: string | null; last_seen: string | null; contacts: DeviceContact[];
}
// Outcome of a call-control command, reported after the PBX answered (WS `command` message).
export interface CommandStatus { id: string; action: string; state: 'accepted' | 'done' | 'failed'; reason?: string | null; call_id?: string; space?: string | null }
// Tenant UI settings (GET/PUT /api/v1/ui-settings).
export interface UiSettings { action_links: { label: string; url: string }[]; card_template: string }
// A PBX queue (GET /api/v1/queues, docs/queues.md).
export type AgentState = 'available' | 'ringing' | 'busy' | 'wrap_up' | 'paused' | 'unavailable';
export interface QueueCaller {
  position: number; channel: string; uniqueid: string; linkedid: string; number: string | null; name: string | null;
  joined: string; wait: number; remote_info?: RemoteInfo | null;
}
export interface QueueAgent {
  interface: string; name: string; extension: string | null; membership: string; state: AgentState;
  paused: boolean; paused_reason: string | null; in_call: boolean; ringing: boolean; penalty: number; calls_taken: number;
  last_call: string | null; last_pause: string | null; login_time: string | null; wrapup_seconds: number; wrapup_until: string | null;
}
export interface Queue {
  id: string; pbx: string; name: string; strategy: string; max: number; wrapup_seconds: number | null;
  waiting: number; longest_wait: number; answered_today: number; abandoned_today: number;
  pbx_completed: number; pbx_abandoned: number; holdtime: number; talktime: number;
  callers: QueueCaller[]; agents: QueueAgent[];
}

// The user's PBX call features (GET /api/v1/me/forwarding, docs/dialplan.md).
export interface CallFeatures {
  user: string;
  lines: string[];
  available: boolean;
  reason: string | null;
  dnd: boolean;
  forwarding: { unconditional: string | null; busy: string | null; no_answer: string | null; no_answer_seconds: number };
  follow_me: { enabled: boolean; number: string | null; mode: 'parallel' | 'sequential' | 'device'; desk_seconds: number };
}
// A parked call (docs/parking.md, GET /api/v1/parking and the `parking` events).
export interface ParkedCall {
  id: string; pbx: string; lot: string; space: string; call_id: string | null; channel: string;
  number: string | null; name: string | null; remote_info?: RemoteInfo | null; parked_by: string | null;
  since: string; parked_seconds: number; times_out_at: string | null;
}
