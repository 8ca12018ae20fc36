// Header encoding into the output region (RFC 3080 §2.2.1, RFC 3081 §3.1.3). Payloads never
// enter the module: TS sends [header, payload, "END\r\n"].
import {
  RESULT_OFFSET, OUTPUT_OFFSET, T_MSG, T_ANS, T_NUL, R_UNKNOWN_CHANNEL, R_WINDOW, R_ARG,
  CS_RECV_NEXT, CS_RECV_ACKNO, CS_RECV_WINDOW, CS_SEND_NEXT, CS_SEND_LIMIT, CS_FLAGS, CF_HINTED,
} from "./layout";
import { channelAddr, channelLookup } from "./tables";

const KEYWORDS = memory.data<u8>([
  77, 83, 71, 32, // MSG
  82, 80, 89, 32, // RPY
  69, 82, 82, 32, // ERR
  65, 78, 83, 32, // ANS
  78, 85, 76, 32, // NUL
  83, 69, 81, 32, // SEQ
]);

/** "00" "01" ... "99": two digits per division by 100 (a header has up to ~25 digits). */
const DIGIT_PAIRS = memory.data<u8>([
  48, 48, 48, 49, 48, 50, 48, 51, 48, 52, 48, 53, 48, 54, 48, 55, 48, 56, 48, 57,
  49, 48, 49, 49, 49, 50, 49, 51, 49, 52, 49, 53, 49, 54, 49, 55, 49, 56, 49, 57,
  50, 48, 50, 49, 50, 50, 50, 51, 50, 52, 50, 53, 50, 54, 50, 55, 50, 56, 50, 57,
  51, 48, 51, 49, 51, 50, 51, 51, 51, 52, 51, 53, 51, 54, 51, 55, 51, 56, 51, 57,
  52, 48, 52, 49, 52, 50, 52, 51, 52, 52, 52, 53, 52, 54, 52, 55, 52, 56, 52, 57,
  53, 48, 53, 49, 53, 50, 53, 51, 53, 52, 53, 53, 53, 54, 53, 55, 53, 56, 53, 57,
  54, 48, 54, 49, 54, 50, 54, 51, 54, 52, 54, 53, 54, 54, 54, 55, 54, 56, 54, 57,
  55, 48, 55, 49, 55, 50, 55, 51, 55, 52, 55, 53, 55, 54, 55, 55, 55, 56, 55, 57,
  56, 48, 56, 49, 56, 50, 56, 51, 56, 52, 56, 53, 56, 54, 56, 55, 56, 56, 56, 57,
  57, 48, 57, 49, 57, 50, 57, 51, 57, 52, 57, 53, 57, 54, 57, 55, 57, 56, 57, 57,
]);

/** Number of decimal digits of v, by comparison (no division). */
// @ts-ignore: decorator
@inline function decimalLength(v: u32): usize {
  return v < 100000
    ? (v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : v < 10000 ? 4 : 5)
    : (v < 10000000 ? (v < 1000000 ? 6 : 7) : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10);
}

/** Writes the decimal digits of v at out; returns the position after them. */
// @ts-ignore: decorator
@inline function digits(out: usize, v: u32): usize {
  const end = out + decimalLength(v);
  let q = end;
  while (v >= 100) {
    const r = v % 100;
    v /= 100;
    q -= 2;
    store<u16>(q, load<u16>(DIGIT_PAIRS + (<usize>r << 1)));
  }
  if (v >= 10) store<u16>(q - 2, load<u16>(DIGIT_PAIRS + (<usize>v << 1)));
  else store<u8>(q - 1, <u8>(48 + v));
  return end;
}

// @ts-ignore: decorator
@inline function keyword(out: usize, type: i32): usize {
  store<u32>(out, load<u32>(KEYWORDS + (<usize>(type - 1) << 2)));
  return out + 4;
}

/** Writes a validated header for channel record `c` and advances its seqno. */
function encodeAt(c: usize, channel: i32, type: i32, msgno: i32, more: i32, size: i32, ansno: i32): i32 {
  const next = load<u32>(c, CS_SEND_NEXT);
  let q = keyword(<usize>OUTPUT_OFFSET, type);
  q = digits(q, <u32>channel);
  store<u8>(q++, 32);
  q = digits(q, <u32>msgno);
  store<u8>(q++, 32);
  store<u8>(q++, more ? 42 : 46);
  store<u8>(q++, 32);
  q = digits(q, next);
  store<u8>(q++, 32);
  q = digits(q, <u32>size);
  if (type == T_ANS) {
    store<u8>(q++, 32);
    q = digits(q, <u32>ansno);
  }
  store<u16>(q, 0x0A0D);
  q += 2;
  store<u32>(c, next + <u32>size, CS_SEND_NEXT);
  return <i32>(q - <usize>OUTPUT_OFFSET);
}

// @ts-ignore: decorator
@inline function badFrameArgs(channel: i32, type: i32, msgno: i32, more: i32, ansno: i32): bool {
  return type < T_MSG || type > T_NUL || msgno < 0 || channel < 0 || (type == T_ANS && ansno < 0) ||
    <u32>more > 1 || (type == T_NUL && more != 0);
}

// @ts-ignore: decorator
@inline function sendAvail(c: usize): i32 {
  const avail = <i32>(load<u32>(c, CS_SEND_LIMIT) - load<u32>(c, CS_SEND_NEXT));
  return avail < 0 ? 0 : avail;
}

/**
 * Encodes a data-frame header at the channel's next seqno and advances it by size.
 * Returns the header length, or a negative R_* code on misuse.
 */
export function encodeFrame(slot: i32, channel: i32, type: i32, msgno: i32, more: i32, size: i32, ansno: i32): i32 {
  if (badFrameArgs(channel, type, msgno, more, ansno) || size < 0) return R_ARG;
  const cs = channelLookup(slot, channel);
  if (cs < 0) return R_UNKNOWN_CHANNEL;
  const c = channelAddr(cs);
  // RFC 3081 §3.1.4: never send beyond the window the peer granted.
  if (size > sendAvail(c)) return R_WINDOW;
  return encodeAt(c, channel, type, msgno, more, size, ansno);
}

/**
 * Frames the next piece of a message with `left` octets to go: size = min(left, send window,
 * maxFrame), "*" when octets remain; a NUL goes whole or not at all. One call per frame (window
 * check and encoding together).
 * Returns the header length with the size in result word 1; 0 when the window is shut.
 */
export function encodeFit(slot: i32, channel: i32, type: i32, msgno: i32, left: i32, maxFrame: i32, ansno: i32): i32 {
  if (badFrameArgs(channel, type, msgno, 0, ansno) || left < 0 || maxFrame < 1 || (type == T_NUL && left > maxFrame)) return R_ARG;
  const cs = channelLookup(slot, channel);
  if (cs < 0) return R_UNKNOWN_CHANNEL;
  const c = channelAddr(cs);
  let n = sendAvail(c);
  if (left < n) n = left;
  if (maxFrame < n) n = maxFrame;
  // A NUL is never continued: its (MIME header) payload goes whole or waits for window.
  if (type == T_NUL && n < left) n = 0;
  store<i32>(RESULT_OFFSET + 4, n);
  if (left > 0 && n == 0) return 0;
  return encodeAt(c, channel, type, msgno, n < left ? 1 : 0, n, ansno);
}

/**
 * Encodes "SEQ channel ackno window" and records the grant. ackno must lie between the last
 * ackno sent and the next seqno expected; the grant's right edge never moves left.
 */
export function encodeSeq(slot: i32, channel: i32, ackno: u32, window: i32): i32 {
  if (window < 0 || channel < 0) return R_ARG;
  const cs = channelLookup(slot, channel);
  if (cs < 0) return R_UNKNOWN_CHANNEL;
  const c = channelAddr(cs);
  const oldAck = load<u32>(c, CS_RECV_ACKNO);
  if (ackno - oldAck > load<u32>(c, CS_RECV_NEXT) - oldAck) return R_ARG;
  const keep = <i64>(oldAck + load<u32>(c, CS_RECV_WINDOW) - ackno); // old right edge - ackno
  let w = <i64>window;
  if (w < keep) w = keep;
  if (w > 0x7FFFFFFF) return R_ARG;
  let q = keyword(<usize>OUTPUT_OFFSET, 6);
  q = digits(q, <u32>channel);
  store<u8>(q++, 32);
  q = digits(q, ackno);
  store<u8>(q++, 32);
  q = digits(q, <u32>w);
  store<u16>(q, 0x0A0D);
  q += 2;
  store<u32>(c, ackno, CS_RECV_ACKNO);
  store<u32>(c, <u32>w, CS_RECV_WINDOW);
  store<i32>(c, load<i32>(c, CS_FLAGS) & ~CF_HINTED, CS_FLAGS);
  return <i32>(q - <usize>OUTPUT_OFFSET);
}

/** Octets the peer lets us send on the channel now (0 when it shrank below what we sent). */
export function sendWindow(slot: i32, channel: i32): i32 {
  const cs = channelLookup(slot, channel);
  if (cs < 0) return R_UNKNOWN_CHANNEL;
  return sendAvail(channelAddr(cs));
}
