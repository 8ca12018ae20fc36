// Session and channel slot tables in linear memory, and the (session, channel) -> slot hash.
// Everything here is O(1) and allocation-free; the tables are fixed-size (see layout.ts).
import {
  SESSIONS_OFFSET, SESSION_BYTES, SESSION_CAPACITY, CHANNELS_OFFSET, CHANNEL_BYTES,
  CHANNEL_CAPACITY, HASH_OFFSET, HASH_CAPACITY, SS_STATE, SS_NEXT_FREE, SS_HEAD, SS_COUNT,
  CS_SESSION, CS_CHANNEL, CS_NEXT, CS_PREV,
} from "./layout";

// Free-list heads (slot + 1, 0 = empty), kept in globals: the tables themselves are memory.
let freeSession: i32 = 0;
let freeChannel: i32 = 0;

/** Byte address of a session record. */
// @ts-ignore: decorator
@inline export function sessionAddr(slot: i32): usize {
  return <usize>SESSIONS_OFFSET + <usize>slot * <usize>SESSION_BYTES;
}

/** Byte address of a channel record. */
// @ts-ignore: decorator
@inline export function channelAddr(slot: i32): usize {
  return <usize>CHANNELS_OFFSET + <usize>slot * <usize>CHANNEL_BYTES;
}

/** True when `slot` names a session in use (unsigned compare rejects negatives). */
export function sessionValid(slot: i32): bool {
  return <u32>slot < <u32>SESSION_CAPACITY && load<i32>(sessionAddr(slot), SS_STATE) != 0;
}

/** Clears all tables and rebuilds the free lists. */
export function tablesInit(): void {
  memory.fill(<usize>SESSIONS_OFFSET, 0, <usize>(SESSION_BYTES * SESSION_CAPACITY));
  memory.fill(<usize>CHANNELS_OFFSET, 0, <usize>(CHANNEL_BYTES * CHANNEL_CAPACITY));
  memory.fill(<usize>HASH_OFFSET, 0, <usize>(4 * HASH_CAPACITY));
  for (let i = 0; i < SESSION_CAPACITY; i++) {
    store<i32>(sessionAddr(i), i + 1 < SESSION_CAPACITY ? i + 2 : 0, SS_NEXT_FREE);
  }
  freeSession = 1;
  for (let i = 0; i < CHANNEL_CAPACITY; i++) {
    store<i32>(channelAddr(i), i + 1 < CHANNEL_CAPACITY ? i + 2 : 0, CS_NEXT);
  }
  freeChannel = 1;
}

/** Takes a session slot from the free list, or returns -1. */
export function sessionAlloc(): i32 {
  if (freeSession == 0) return -1;
  const slot = freeSession - 1;
  const a = sessionAddr(slot);
  freeSession = load<i32>(a, SS_NEXT_FREE);
  memory.fill(a, 0, <usize>SESSION_BYTES);
  return slot;
}

/** Returns a session slot (whose channels are already released) to the free list. */
export function sessionFree(slot: i32): void {
  const a = sessionAddr(slot);
  memory.fill(a, 0, <usize>SESSION_BYTES);
  store<i32>(a, freeSession, SS_NEXT_FREE);
  freeSession = slot + 1;
}

// @ts-ignore: decorator
@inline function hashOf(session: i32, channel: i32): u32 {
  let h = <u32>channel * 0x9E3779B1 ^ <u32>session * 0x85EBCA77;
  h ^= h >> 15;
  return h & <u32>(HASH_CAPACITY - 1);
}

// @ts-ignore: decorator
@inline function hashAddr(i: u32): usize {
  return <usize>HASH_OFFSET + (<usize>i << 2);
}

/** Finds the channel slot of (session, channel), or -1. */
export function channelLookup(session: i32, channel: i32): i32 {
  let i = hashOf(session, channel);
  while (true) {
    const e = load<i32>(hashAddr(i));
    if (e == 0) return -1;
    const c = channelAddr(e - 1);
    if (load<i32>(c, CS_CHANNEL) == channel && load<i32>(c, CS_SESSION) == session + 1) return e - 1;
    i = (i + 1) & <u32>(HASH_CAPACITY - 1);
  }
  return -1;
}

/** Allocates and indexes a channel slot; -1 when full. Caller checked it is not open. */
export function channelAlloc(session: i32, channel: i32): i32 {
  if (freeChannel == 0) return -1;
  const slot = freeChannel - 1;
  const c = channelAddr(slot);
  freeChannel = load<i32>(c, CS_NEXT);
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
  // Index. The table is twice the slot count, so an empty entry always exists.
  let i = hashOf(session, channel);
  while (load<i32>(hashAddr(i)) != 0) i = (i + 1) & <u32>(HASH_CAPACITY - 1);
  store<i32>(hashAddr(i), slot + 1);
  return slot;
}

/** Unindexes, unlinks and frees a channel slot. */
export function channelFree(slot: i32): void {
  const c = channelAddr(slot);
  const session = load<i32>(c, CS_SESSION) - 1;
  const channel = load<i32>(c, CS_CHANNEL);
  // Hash removal with backward shift (linear probing keeps no tombstones).
  const mask = <u32>(HASH_CAPACITY - 1);
  let i = hashOf(session, channel);
  while (load<i32>(hashAddr(i)) != slot + 1) i = (i + 1) & mask;
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const e = load<i32>(hashAddr(j));
    if (e == 0) break;
    const ec = channelAddr(e - 1);
    const k = hashOf(load<i32>(ec, CS_SESSION) - 1, load<i32>(ec, CS_CHANNEL));
    // Move e back to i when its home k is not cyclically within (i, j].
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
    store<i32>(hashAddr(i), e);
    i = j;
  }
  store<i32>(hashAddr(i), 0);
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
