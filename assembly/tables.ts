// Session and channel slot tables, and the (session, channel) -> slot hash, in linear memory.
// Tables grow on demand: records live in fixed-size chunks taken from a bump heap (memory.grow
// when it runs out), found through a directory, so a record never moves once allocated and
// TS may keep its address. The hash doubles and rehashes past 50 % load. Growth happens only
// in sessionOpen/channelOpen, never inside decode() or encode*(), so those stay allocation-free.
import {
  SESSION_DIR_OFFSET, SESSION_CHUNK_SHIFT, SESSION_CHUNK, SESSION_BYTES, SESSION_DIR_ENTRIES,
  CHANNEL_DIR_OFFSET, CHANNEL_CHUNK_SHIFT, CHANNEL_CHUNK, CHANNEL_BYTES, CHANNEL_DIR_ENTRIES,
  HEAP_OFFSET, HASH_INITIAL, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_CHANNELS, MAX_SESSIONS, MAX_CHANNELS,
  SS_STATE, SS_NEXT_FREE, SS_HEAD, SS_COUNT, CS_SESSION, CS_CHANNEL, CS_NEXT, CS_PREV,
  R_TABLE_FULL, R_NO_MEMORY, R_ARG,
} from "./layout";

// Allocator and table state lives in globals: the tables themselves are memory.
let heapTop: usize = HEAP_OFFSET; // first free heap byte; the heap never frees (see hashGrow)
let sessionTop: i32 = 0; // session slots ever handed out; slots below it have a record
let freeSession: i32 = 0; // free-list head, slot + 1, 0 = empty
let sessionsInUse: i32 = 0;
let maxSessions: i32 = DEFAULT_MAX_SESSIONS;
let channelTop: i32 = 0;
let freeChannel: i32 = 0;
let channelsInUse: i32 = 0;
let maxChannels: i32 = DEFAULT_MAX_CHANNELS;
let hashBase: usize = 0; // current hash table: u32 entries (channel slot + 1, 0 = empty)
let hashMask: u32 = 0; // entries - 1 (entries is a power of two)

/** Byte address of a session record (slot below sessionTop). */
// @ts-ignore: decorator
@inline export function sessionAddr(slot: i32): usize {
  const chunk = load<u32>(<usize>SESSION_DIR_OFFSET + (<usize>(slot >>> SESSION_CHUNK_SHIFT) << 2));
  return <usize>chunk + <usize>(slot & (SESSION_CHUNK - 1)) * <usize>SESSION_BYTES;
}

/** Byte address of a channel record (slot below channelTop). */
// @ts-ignore: decorator
@inline export function channelAddr(slot: i32): usize {
  const chunk = load<u32>(<usize>CHANNEL_DIR_OFFSET + (<usize>(slot >>> CHANNEL_CHUNK_SHIFT) << 2));
  return <usize>chunk + <usize>(slot & (CHANNEL_CHUNK - 1)) * <usize>CHANNEL_BYTES;
}

/** True when `slot` names a session in use (unsigned compare rejects negatives). */
export function sessionValid(slot: i32): bool {
  return <u32>slot < <u32>sessionTop && load<i32>(sessionAddr(slot), SS_STATE) != 0;
}

/**
 * Takes `bytes` (a multiple of 64) from the heap, growing memory when needed; 0 when memory
 * cannot grow. Fresh heap bytes are zero: nothing is ever freed back to the heap.
 */
function heapAlloc(bytes: usize): usize {
  const at = heapTop;
  const end = at + bytes;
  const have = <usize>memory.size() << 16;
  if (end > have && memory.grow(<i32>((end - have + 0xFFFF) >> 16)) < 0) return 0;
  heapTop = end;
  return at;
}

/** Empties every table and the heap; 0, or R_NO_MEMORY when the first hash table does not fit. */
export function tablesInit(): i32 {
  // AssemblyScript's static data sits between LAYOUT_END and HEAP_OFFSET.
  if (__heap_base > <usize>HEAP_OFFSET) return R_NO_MEMORY;
  heapTop = HEAP_OFFSET;
  sessionTop = 0; freeSession = 0; sessionsInUse = 0;
  channelTop = 0; freeChannel = 0; channelsInUse = 0;
  memory.fill(<usize>SESSION_DIR_OFFSET, 0, <usize>(4 * SESSION_DIR_ENTRIES));
  memory.fill(<usize>CHANNEL_DIR_OFFSET, 0, <usize>(4 * CHANNEL_DIR_ENTRIES));
  const h = heapAlloc(<usize>HASH_INITIAL << 2);
  if (h == 0) return R_NO_MEMORY;
  memory.fill(h, 0, <usize>HASH_INITIAL << 2); // init() may run again over a used heap
  hashBase = h;
  hashMask = <u32>HASH_INITIAL - 1;
  return 0;
}

/** Sets the process-wide limits (1..MAX_SESSIONS, 1..MAX_CHANNELS); slots in use are kept. */
export function setLimits(sessions: i32, channels: i32): i32 {
  if (sessions < 1 || sessions > MAX_SESSIONS || channels < 1 || channels > MAX_CHANNELS) return R_ARG;
  maxSessions = sessions;
  maxChannels = channels;
  return 0;
}

/** The limit on sessions in use. */
export function sessionLimit(): i32 { return maxSessions; }
/** The limit on channels in use over all sessions. */
export function channelLimit(): i32 { return maxChannels; }
/** Sessions in use. */
export function sessionCount(): i32 { return sessionsInUse; }
/** Channels in use over all sessions. */
export function channelCount(): i32 { return channelsInUse; }
/** First heap byte never allocated: bytes of memory the tables occupy, fixed regions included. */
export function heapEnd(): i32 { return <i32>heapTop; }
/** Entries of the current hash table. */
export function hashCapacity(): i32 { return <i32>(hashMask + 1); }

/** Takes a session slot (free list first, else a new slot, chunk allocated on demand), or R_*. */
export function sessionAlloc(): i32 {
  if (sessionsInUse >= maxSessions) return R_TABLE_FULL;
  let slot: i32;
  if (freeSession != 0) {
    slot = freeSession - 1;
    freeSession = load<i32>(sessionAddr(slot), SS_NEXT_FREE);
  } else {
    if ((sessionTop & (SESSION_CHUNK - 1)) == 0) {
      const k = sessionTop >>> SESSION_CHUNK_SHIFT;
      if (k >= SESSION_DIR_ENTRIES) return R_TABLE_FULL;
      const chunk = heapAlloc(<usize>(SESSION_CHUNK * SESSION_BYTES));
      if (chunk == 0) return R_NO_MEMORY;
      store<u32>(<usize>SESSION_DIR_OFFSET + (<usize>k << 2), <u32>chunk);
    }
    slot = sessionTop++;
  }
  sessionsInUse++;
  memory.fill(sessionAddr(slot), 0, <usize>SESSION_BYTES);
  return slot;
}

/** Returns a session slot (whose channels are already released) to the free list. */
export function sessionFree(slot: i32): void {
  const a = sessionAddr(slot);
  memory.fill(a, 0, <usize>SESSION_BYTES);
  store<i32>(a, freeSession, SS_NEXT_FREE);
  freeSession = slot + 1;
  sessionsInUse--;
}

// @ts-ignore: decorator
@inline function hashOf(session: i32, channel: i32): u32 {
  const h = <u32>channel * 0x9E3779B1 ^ <u32>session * 0x85EBCA77;
  return h ^ (h >> 15);
}

/**
 * Doubles the hash table and rehashes into a fresh region. The old region is leaked: the heap
 * never frees, and the leaked tables (HASH_INITIAL, 2x, 4x, ...) sum to less than the current
 * one, so the hash and its leftovers stay under 8 entries (32 bytes) per peak channel.
 */
function hashGrow(): bool {
  const oldBase = hashBase;
  const oldCap = hashMask + 1;
  const cap = oldCap << 1;
  const base = heapAlloc(<usize>cap << 2);
  if (base == 0) return false;
  memory.fill(base, 0, <usize>cap << 2);
  const mask = cap - 1;
  for (let i: u32 = 0; i < oldCap; i++) {
    const e = load<i32>(oldBase + (<usize>i << 2));
    if (e == 0) continue;
    const c = channelAddr(e - 1);
    let j = hashOf(load<i32>(c, CS_SESSION) - 1, load<i32>(c, CS_CHANNEL)) & mask;
    while (load<i32>(base + (<usize>j << 2)) != 0) j = (j + 1) & mask;
    store<i32>(base + (<usize>j << 2), e);
  }
  hashBase = base;
  hashMask = mask;
  return true;
}

/** Finds the channel slot of (session, channel), or -1. */
export function channelLookup(session: i32, channel: i32): i32 {
  const base = hashBase, mask = hashMask;
  let i = hashOf(session, channel) & mask;
  while (true) {
    const e = load<i32>(base + (<usize>i << 2));
    if (e == 0) return -1;
    const c = channelAddr(e - 1);
    if (load<i32>(c, CS_CHANNEL) == channel && load<i32>(c, CS_SESSION) == session + 1) return e - 1;
    i = (i + 1) & mask;
  }
  // biome-ignore lint/correctness/noUnreachable: AssemblyScript wants a return after the loop
  return -1;
}

/** Allocates and indexes a channel slot, or returns R_*. Caller checked it is not open. */
export function channelAlloc(session: i32, channel: i32): i32 {
  if (channelsInUse >= maxChannels) return R_TABLE_FULL;
  // Keep the load at or under 50 % so probes stay short and an empty entry always exists.
  if (<u32>(channelsInUse + 1) > (hashMask + 1) >> 1 && !hashGrow()) return R_NO_MEMORY;
  let slot: i32;
  if (freeChannel != 0) {
    slot = freeChannel - 1;
    freeChannel = load<i32>(channelAddr(slot), CS_NEXT);
  } else {
    if ((channelTop & (CHANNEL_CHUNK - 1)) == 0) {
      const k = channelTop >>> CHANNEL_CHUNK_SHIFT;
      if (k >= CHANNEL_DIR_ENTRIES) return R_TABLE_FULL;
      const chunk = heapAlloc(<usize>(CHANNEL_CHUNK * CHANNEL_BYTES));
      if (chunk == 0) return R_NO_MEMORY;
      store<u32>(<usize>CHANNEL_DIR_OFFSET + (<usize>k << 2), <u32>chunk);
    }
    slot = channelTop++;
  }
  channelsInUse++;
  const c = channelAddr(slot);
  memory.fill(c, 0, <usize>CHANNEL_BYTES);
  store<i32>(c, session + 1, CS_SESSION);
  store<i32>(c, channel, CS_CHANNEL);
  // Link at the head of the session's channel list.
  const s = sessionAddr(session);
  const head = load<i32>(s, SS_HEAD);
  store<i32>(c, head, CS_NEXT);
  if (head != 0) store<i32>(channelAddr(head - 1), slot + 1, CS_PREV);
  store<i32>(s, slot + 1, SS_HEAD);
  store<i32>(s, load<i32>(s, SS_COUNT) + 1, SS_COUNT);
  // Index.
  const mask = hashMask;
  let i = hashOf(session, channel) & mask;
  while (load<i32>(hashBase + (<usize>i << 2)) != 0) i = (i + 1) & mask;
  store<i32>(hashBase + (<usize>i << 2), slot + 1);
  return slot;
}

/** Unindexes, unlinks and frees a channel slot. */
export function channelFree(slot: i32): void {
  const c = channelAddr(slot);
  const session = load<i32>(c, CS_SESSION) - 1;
  const channel = load<i32>(c, CS_CHANNEL);
  // Hash removal with backward shift (linear probing keeps no tombstones).
  const base = hashBase, mask = hashMask;
  let i = hashOf(session, channel) & mask;
  while (load<i32>(base + (<usize>i << 2)) != slot + 1) i = (i + 1) & mask;
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const e = load<i32>(base + (<usize>j << 2));
    if (e == 0) break;
    const ec = channelAddr(e - 1);
    const k = hashOf(load<i32>(ec, CS_SESSION) - 1, load<i32>(ec, CS_CHANNEL)) & mask;
    // Move e back to i when its home k is not cyclically within (i, j].
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
    store<i32>(base + (<usize>i << 2), e);
    i = j;
  }
  store<i32>(base + (<usize>i << 2), 0);
  // Unlink from the session list.
  const s = sessionAddr(session);
  const next = load<i32>(c, CS_NEXT);
  const prev = load<i32>(c, CS_PREV);
  if (prev != 0) store<i32>(channelAddr(prev - 1), next, CS_NEXT);
  else store<i32>(s, next, SS_HEAD);
  if (next != 0) store<i32>(channelAddr(next - 1), prev, CS_PREV);
  store<i32>(s, load<i32>(s, SS_COUNT) - 1, SS_COUNT);
  memory.fill(c, 0, <usize>CHANNEL_BYTES);
  store<i32>(c, freeChannel, CS_NEXT);
  freeChannel = slot + 1;
  channelsInUse--;
}

/** Frees every channel of a session. */
export function channelsFreeAll(session: i32): void {
  const s = sessionAddr(session);
  let head = load<i32>(s, SS_HEAD);
  while (head != 0) {
    channelFree(head - 1);
    head = load<i32>(s, SS_HEAD);
  }
}
