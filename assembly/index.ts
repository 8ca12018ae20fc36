// beepwire codec module: session/channel control plus decode.ts and encode.ts.
// Exports are 32-bit numbers only; see docs/codec.md.
import {
  SS_STATE, SS_MAX_HEADER, SS_MAX_FRAME, SS_CUR_SLOT, SS_REMAINING, SS_TRAILER, ST_HEADER,
  MAX_HEADER_LIMIT, R_CHANNEL_EXISTS, R_UNKNOWN_CHANNEL, R_BAD_SLOT, R_ARG,
  CS_RECV_NEXT, CS_RECV_ACKNO, CS_RECV_WINDOW, CS_SEND_NEXT, CS_SEND_LIMIT, CHANNEL_BYTES,
  INITIAL_WINDOW,
} from "./layout";
import {
  sessionAddr, channelAddr, sessionValid, tablesInit, sessionAlloc, sessionFree,
  channelLookup, channelAlloc, channelFree, channelsFreeAll,
} from "./tables";
export {
  setLimits, sessionLimit, channelLimit, sessionCount, channelCount, heapEnd, hashCapacity,
} from "./tables";

export * from "./layout";
export { decode, skip } from "./decode";
export { encodeFrame, encodeFit, encodeSeq, sendWindow } from "./encode";

/** Clears every table; called once by the loader after instantiation. 0, or R_NO_MEMORY. */
export function init(): i32 {
  return tablesInit();
}

/** Opens a session slot with its limits; returns the slot or a negative R_* code. */
export function sessionOpen(maxHeader: i32, maxFrame: i32): i32 {
  if (maxHeader < 16 || maxHeader > MAX_HEADER_LIMIT || maxFrame < 0) return R_ARG;
  const slot = sessionAlloc(); // may grow memory (R_TABLE_FULL / R_NO_MEMORY when it cannot)
  if (slot < 0) return slot;
  const s = sessionAddr(slot);
  store<i32>(s, ST_HEADER, SS_STATE);
  store<i32>(s, maxHeader, SS_MAX_HEADER);
  store<i32>(s, maxFrame, SS_MAX_FRAME);
  store<i32>(s, -1, SS_CUR_SLOT);
  return slot;
}

/** Byte address of a session record (stable for the slot's life: chunks never move), or R_BAD_SLOT. */
export function sessionAddress(slot: i32): i32 {
  if (!sessionValid(slot)) return R_BAD_SLOT;
  return <i32>sessionAddr(slot);
}

/** Releases a session slot and all its channels. */
export function sessionClose(slot: i32): i32 {
  if (!sessionValid(slot)) return R_BAD_SLOT;
  channelsFreeAll(slot);
  sessionFree(slot);
  return 0;
}

/** Tuning reset (RFC 3080 §3): channels gone, parse state and failure cleared, limits kept. */
export function sessionReset(slot: i32): i32 {
  if (!sessionValid(slot)) return R_BAD_SLOT;
  channelsFreeAll(slot);
  const s = sessionAddr(slot);
  store<i32>(s, ST_HEADER, SS_STATE);
  store<i32>(s, 0, SS_REMAINING);
  store<i32>(s, 0, SS_TRAILER);
  store<i32>(s, -1, SS_CUR_SLOT);
  return 0;
}

/** Starts tracking a channel with seqnos 0 and 4096-octet windows (RFC 3081 §3.1.1). */
export function channelOpen(slot: i32, channel: i32): i32 {
  if (!sessionValid(slot)) return R_BAD_SLOT;
  if (channel < 0) return R_ARG;
  if (channelLookup(slot, channel) >= 0) return R_CHANNEL_EXISTS;
  const cs = channelAlloc(slot, channel); // may grow memory, as sessionOpen
  if (cs < 0) return cs;
  const c = channelAddr(cs);
  store<i32>(c, INITIAL_WINDOW, CS_RECV_WINDOW);
  store<i32>(c, INITIAL_WINDOW, CS_SEND_LIMIT);
  return cs;
}

/** Stops tracking a channel. */
export function channelClose(slot: i32, channel: i32): i32 {
  if (!sessionValid(slot)) return R_BAD_SLOT;
  const cs = channelLookup(slot, channel);
  if (cs < 0) return R_UNKNOWN_CHANNEL;
  // A frame of this channel in progress keeps parsing but loses its slot.
  const s = sessionAddr(slot);
  if (load<i32>(s, SS_CUR_SLOT) == cs) store<i32>(s, -1, SS_CUR_SLOT);
  channelFree(cs);
  return 0;
}

/** Channel slot of an open channel, or R_UNKNOWN_CHANNEL. */
export function channelFind(slot: i32, channel: i32): i32 {
  if (!sessionValid(slot)) return R_BAD_SLOT;
  const cs = channelLookup(slot, channel);
  return cs < 0 ? R_UNKNOWN_CHANNEL : cs;
}

/** Reads a CS_* field of an open channel (caller checked channelFind). */
export function channelGet(slot: i32, channel: i32, field: i32): i32 {
  if (!sessionValid(slot) || <u32>field >= <u32>CHANNEL_BYTES || (field & 3) != 0) return R_ARG;
  const cs = channelLookup(slot, channel);
  if (cs < 0) return R_UNKNOWN_CHANNEL;
  return load<i32>(channelAddr(cs) + <usize>field);
}

/** Sets a channel's seqno counters and window edges (tests; seqno-wrap profiles); the caller supplies every field. */
export function channelSetSeq(slot: i32, channel: i32, recvNext: u32, recvAckno: u32, recvWindow: u32, sendNext: u32, sendLimit: u32): i32 {
  if (!sessionValid(slot)) return R_BAD_SLOT;
  const cs = channelLookup(slot, channel);
  if (cs < 0) return R_UNKNOWN_CHANNEL;
  const c = channelAddr(cs);
  store<u32>(c, recvNext, CS_RECV_NEXT);
  store<u32>(c, recvAckno, CS_RECV_ACKNO);
  store<u32>(c, recvWindow, CS_RECV_WINDOW);
  store<u32>(c, sendNext, CS_SEND_NEXT);
  store<u32>(c, sendLimit, CS_SEND_LIMIT);
  return 0;
}
