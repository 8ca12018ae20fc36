// Frame decoder: one call per input window, fixed-width event records out, no allocation.
// The contract (check order, offsets, events) is docs/codec.md; the pure-TS twin is
// src/codec/ref-codec.ts and a differential test keeps them equal.
import {
  RESULT_OFFSET, EVENTS_OFFSET, EVENT_WORDS, EVENT_CAPACITY,
  E_KIND, E_TYPE, E_CHANNEL, E_MSGNO, E_MORE, E_SEQNO, E_SIZE, E_ANSNO, E_OFFSET, E_LENGTH,
  E_FLAGS, E_SLOT, EV_FRAME, EV_DATA, EV_SEQ, EV_SEQ_HINT, EV_ERROR, F_END,
  T_MSG, T_RPY, T_ERR, T_ANS, T_NUL, T_SEQ,
  S_BAD_KEYWORD, S_BAD_FIELD, S_FIELD_RANGE, S_MISSING_CRLF, S_HEADER_TOO_LONG, S_BAD_TRAILER,
  S_BAD_SEQNO, S_WINDOW_EXCEEDED, S_SIZE_TOO_LARGE, S_UNKNOWN_CHANNEL, S_BAD_MORE,
  S_CONTINUATION, S_NUL_CONTINUED, S_BAD_ACKNO,
  SS_STATE, SS_MAX_HEADER, SS_MAX_FRAME, SS_REMAINING, SS_TRAILER, SS_CUR_SLOT, SS_CUR_CHANNEL,
  ST_HEADER, ST_PAYLOAD, ST_TRAILER, ST_FAILED,
  CS_RECV_NEXT, CS_RECV_ACKNO, CS_RECV_WINDOW, CS_SEND_NEXT, CS_SEND_LIMIT, CS_FLAGS,
  CS_CONT_TYPE, CS_CONT_MSGNO, CF_HINTED, CF_CONTINUED, INPUT_OFFSET, R_ARG,
} from "./layout";
import { sessionAddr, sessionValid, channelAddr, channelLookup } from "./tables";

// Keywords as little-endian u32 of "KW " (RFC 3080 §2.2.1, RFC 3081 §3.1.3).
const KW_MSG: u32 = 0x2047534D;
const KW_RPY: u32 = 0x20595052;
const KW_ERR: u32 = 0x20525245;
const KW_ANS: u32 = 0x20534E41;
const KW_NUL: u32 = 0x204C554E;
const KW_SEQ: u32 = 0x20514553;
// "END\r" little-endian, then "\n".
const TRAILER4: u32 = 0x0D444E45;

// "END\r\n" for byte-wise matching of a trailer split across calls.
const TRAILER_BYTES = memory.data<u8>([69, 78, 68, 13, 10]);

const MAX_31: u64 = 2147483647;
const MAX_32: u64 = 4294967295;

// Results of the last field parse (AssemblyScript has no tuples; globals stay in registers).
let numVal: u64 = 0;
let numEnd: usize = 0;

// @ts-ignore: decorator
@inline function evAddr(n: i32): usize {
  return <usize>EVENTS_OFFSET + <usize>(n * EVENT_WORDS * 4);
}

/**
 * Parses a decimal field at q (RFC 3080 §2.2.1: 1*DIGIT). Syntax is judged before range:
 * the field ends at SP or at the header end; any other byte is S_BAD_FIELD.
 */
// @ts-ignore: decorator
@inline function field(q: usize, textEnd: usize, max: u64): i32 {
  let v: u64 = 0;
  let over = false;
  const first = q;
  while (q < textEnd) {
    const d = <u32>load<u8>(q) - 48;
    if (d > 9) break;
    if (!over) {
      v = v * 10 + <u64>d;
      if (v > max) over = true;
    }
    q++;
  }
  if (q == first) return S_BAD_FIELD;
  if (q < textEnd && load<u8>(q) != 32) return S_BAD_FIELD;
  if (over) return S_FIELD_RANGE;
  numVal = v;
  numEnd = q;
  return 0;
}

/** Separator before a further field: a missing field (header ends) is S_BAD_FIELD. */
// @ts-ignore: decorator
@inline function sep(q: usize, textEnd: usize): i32 {
  return q < textEnd ? 0 : S_BAD_FIELD; // field() left q at SP or textEnd
}

// @ts-ignore: decorator
@inline function writeError(n: i32, status: i32, channel: i32, offset: usize): void {
  const e = evAddr(n);
  store<i32>(e, EV_ERROR, E_KIND << 2);
  store<i32>(e, status, E_TYPE << 2);
  store<i32>(e, channel, E_CHANNEL << 2);
  store<i32>(e, <i32>(offset - <usize>INPUT_OFFSET), E_OFFSET << 2);
  store<i32>(e, 0, E_FLAGS << 2);
  store<i32>(e, -1, E_SLOT << 2);
}

/** Writes EV_SEQ_HINT after a completed frame when half the granted window is used. */
// @ts-ignore: decorator
@inline function maybeHint(n: i32, c: usize, channel: i32, chSlot: i32): i32 {
  const next = load<u32>(c, CS_RECV_NEXT);
  const unacked = next - load<u32>(c, CS_RECV_ACKNO);
  const flags = load<i32>(c, CS_FLAGS);
  if (unacked >= load<u32>(c, CS_RECV_WINDOW) / 2 && (flags & CF_HINTED) == 0) {
    store<i32>(c, flags | CF_HINTED, CS_FLAGS);
    const e = evAddr(n);
    store<i32>(e, EV_SEQ_HINT, E_KIND << 2);
    store<i32>(e, channel, E_CHANNEL << 2);
    store<u32>(e, next, E_SEQNO << 2);
    store<u32>(e, unacked, E_SIZE << 2);
    store<i32>(e, 0, E_FLAGS << 2);
    store<i32>(e, chSlot, E_SLOT << 2);
    return n + 1;
  }
  return n;
}

/**
 * Decodes input-window bytes [start, end) for a session. Returns the number of event
 * records written; result word 0 holds the window offset where decoding stopped.
 */
export function decode(slot: i32, start: i32, end: i32): i32 {
  // A slot not in use decodes nothing (and reads no directory entry it does not have).
  if (!sessionValid(slot)) {
    store<i32>(RESULT_OFFSET, start);
    return 0;
  }
  const s = sessionAddr(slot);
  let state = load<i32>(s, SS_STATE);
  let p: usize = <usize>INPUT_OFFSET + <usize>start;
  const stop: usize = <usize>INPUT_OFFSET + <usize>end;
  let n: i32 = 0;
  if (state == ST_FAILED) {
    store<i32>(RESULT_OFFSET, start);
    return 0;
  }
  const maxHeader = <usize>load<i32>(s, SS_MAX_HEADER);
  const maxFrame = <u64>load<u32>(s, SS_MAX_FRAME);
  // Record that carries the last payload piece of the frame in progress in this call, or -1.
  let lastPiece: i32 = -1;
  let remaining = load<u32>(s, SS_REMAINING);
  let matched = load<i32>(s, SS_TRAILER);
  let chSlot = load<i32>(s, SS_CUR_SLOT);
  let channel = load<i32>(s, SS_CUR_CHANNEL);

  while (p < stop) {
    if (state == ST_HEADER) {
      if (n + 2 > EVENT_CAPACITY) break;
      // Header line: find LF within the header-length limit.
      const avail = stop - p;
      const limit = avail < maxHeader ? stop : p + maxHeader;
      let lf = p;
      // Eight octets at a time (SWAR "has a zero byte" on the octets xor LF), then one by one.
      while (lf + 8 <= limit) {
        const x = load<u64>(lf) ^ 0x0A0A0A0A0A0A0A0A;
        if (((x - 0x0101010101010101) & ~x & 0x8080808080808080) != 0) break;
        lf += 8;
      }
      while (lf < limit && load<u8>(lf) != 10) lf++;
      if (lf == limit) {
        if (avail >= maxHeader) { writeError(n++, S_HEADER_TOO_LONG, -1, p); state = ST_FAILED; }
        break;
      }
      if (lf == p || load<u8>(lf - 1) != 13) { writeError(n++, S_MISSING_CRLF, -1, p); state = ST_FAILED; break; }
      const textEnd = lf - 1;
      if (textEnd - p < 4) { writeError(n++, S_BAD_KEYWORD, -1, p); state = ST_FAILED; break; }
      const kw = load<u32>(p);
      let type: i32 = 0;
      if (kw == KW_MSG) type = T_MSG;
      else if (kw == KW_RPY) type = T_RPY;
      else if (kw == KW_ANS) type = T_ANS;
      else if (kw == KW_NUL) type = T_NUL;
      else if (kw == KW_ERR) type = T_ERR;
      else if (kw == KW_SEQ) type = T_SEQ;
      else { writeError(n++, S_BAD_KEYWORD, -1, p); state = ST_FAILED; break; }

      // channel
      let st = field(p + 4, textEnd, MAX_31);
      if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
      const ch = <i32>numVal;
      let q = numEnd;

      if (type == T_SEQ) {
        // RFC 3081 §3.1.3: SEQ channel ackno window CRLF
        st = sep(q, textEnd);
        if (!st) st = field(q + 1, textEnd, MAX_32);
        if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
        const ackno = <u32>numVal;
        q = numEnd;
        st = sep(q, textEnd);
        if (!st) st = field(q + 1, textEnd, MAX_31);
        if (!st && numEnd != textEnd) st = S_BAD_FIELD;
        if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
        const window = <u32>numVal;
        const cs = channelLookup(slot, ch);
        if (cs < 0) { writeError(n++, S_UNKNOWN_CHANNEL, -1, p); state = ST_FAILED; break; }
        const c = channelAddr(cs);
        if (load<u32>(c, CS_SEND_NEXT) - ackno > 0x7FFFFFFF) {
          writeError(n++, S_BAD_ACKNO, ch, p); state = ST_FAILED; break;
        }
        store<u32>(c, ackno + window, CS_SEND_LIMIT);
        const e = evAddr(n++);
        store<i32>(e, EV_SEQ, E_KIND << 2);
        store<i32>(e, T_SEQ, E_TYPE << 2);
        store<i32>(e, ch, E_CHANNEL << 2);
        store<u32>(e, ackno, E_SEQNO << 2);
        store<u32>(e, window, E_SIZE << 2);
        store<i32>(e, 0, E_FLAGS << 2);
        store<i32>(e, cs, E_SLOT << 2);
        p = lf + 1;
        continue;
      }

      // MSG/RPY/ERR/ANS/NUL channel msgno more seqno size [ansno] (RFC 3080 §2.2.1)
      st = sep(q, textEnd);
      if (!st) st = field(q + 1, textEnd, MAX_31);
      if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
      const msgno = <i32>numVal;
      q = numEnd;
      st = sep(q, textEnd);
      if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
      q++;
      let more: i32 = 0;
      {
        const m = q < textEnd ? load<u8>(q) : 0;
        const after = q + 1 < textEnd ? load<u8>(q + 1) : 32;
        if ((m != 46 && m != 42) || after != 32) { writeError(n++, S_BAD_MORE, -1, p); state = ST_FAILED; break; }
        more = m == 42 ? 1 : 0;
        q++;
      }
      st = sep(q, textEnd);
      if (!st) st = field(q + 1, textEnd, MAX_32);
      if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
      const seqno = <u32>numVal;
      q = numEnd;
      st = sep(q, textEnd);
      if (!st) st = field(q + 1, textEnd, MAX_31);
      if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
      const size = <u32>numVal;
      q = numEnd;
      let ansno: u32 = 0;
      if (type == T_ANS) {
        st = sep(q, textEnd);
        if (!st) st = field(q + 1, textEnd, MAX_32);
        if (st) { writeError(n++, st, -1, p); state = ST_FAILED; break; }
        ansno = <u32>numVal;
        q = numEnd;
      }
      if (q != textEnd) { writeError(n++, S_BAD_FIELD, -1, p); state = ST_FAILED; break; }

      if (type == T_NUL && more) { writeError(n++, S_NUL_CONTINUED, ch, p); state = ST_FAILED; break; }
      if (<u64>size > maxFrame) { writeError(n++, S_SIZE_TOO_LARGE, ch, p); state = ST_FAILED; break; }
      // The previous frame's channel slot, when this frame is on the same channel (a closed
      // channel clears SS_CUR_SLOT); else the hash lookup.
      const cs = chSlot >= 0 && ch == channel ? chSlot : channelLookup(slot, ch);
      if (cs < 0) { writeError(n++, S_UNKNOWN_CHANNEL, -1, p); state = ST_FAILED; break; }
      const c = channelAddr(cs);
      const flags = load<i32>(c, CS_FLAGS);
      // RFC 3080 §2.2.1.1: a frame after "*" continues the same message.
      if ((flags & CF_CONTINUED) != 0 &&
          (load<i32>(c, CS_CONT_TYPE) != type || load<i32>(c, CS_CONT_MSGNO) != msgno)) {
        writeError(n++, S_CONTINUATION, ch, p); state = ST_FAILED; break;
      }
      const next = load<u32>(c, CS_RECV_NEXT);
      if (seqno != next) { writeError(n++, S_BAD_SEQNO, ch, p); state = ST_FAILED; break; }
      // RFC 3081 §3.1.4: never accept more than the window we granted.
      if (<u64>(next - load<u32>(c, CS_RECV_ACKNO)) + <u64>size > <u64>load<u32>(c, CS_RECV_WINDOW)) {
        writeError(n++, S_WINDOW_EXCEEDED, ch, p); state = ST_FAILED; break;
      }
      store<u32>(c, next + size, CS_RECV_NEXT);
      if (more) {
        store<i32>(c, flags | CF_CONTINUED, CS_FLAGS);
        store<i32>(c, type, CS_CONT_TYPE);
        store<i32>(c, msgno, CS_CONT_MSGNO);
      } else if (flags & CF_CONTINUED) {
        store<i32>(c, flags & ~CF_CONTINUED, CS_FLAGS);
      }
      const pay = lf + 1;
      const inCall = <u32>(stop - pay);
      const piece = size < inCall ? size : inCall;
      lastPiece = n;
      const e = evAddr(n++);
      store<i32>(e, EV_FRAME, E_KIND << 2);
      store<i32>(e, type, E_TYPE << 2);
      store<i32>(e, ch, E_CHANNEL << 2);
      store<i32>(e, msgno, E_MSGNO << 2);
      store<i32>(e, more, E_MORE << 2);
      store<u32>(e, seqno, E_SEQNO << 2);
      store<u32>(e, size, E_SIZE << 2);
      store<u32>(e, ansno, E_ANSNO << 2);
      store<i32>(e, <i32>(pay - <usize>INPUT_OFFSET), E_OFFSET << 2);
      store<u32>(e, piece, E_LENGTH << 2);
      store<i32>(e, 0, E_FLAGS << 2);
      store<i32>(e, cs, E_SLOT << 2);
      chSlot = cs;
      channel = ch;
      p = pay + <usize>piece;
      remaining = size - piece;
      matched = 0;
      state = remaining ? ST_PAYLOAD : ST_TRAILER;
      continue;
    }

    if (state == ST_PAYLOAD) {
      const inCall = <u32>(stop - p);
      const piece = remaining < inCall ? remaining : inCall;
      lastPiece = n;
      const e = evAddr(n++);
      store<i32>(e, EV_DATA, E_KIND << 2);
      store<i32>(e, channel, E_CHANNEL << 2);
      store<i32>(e, <i32>(p - <usize>INPUT_OFFSET), E_OFFSET << 2);
      store<u32>(e, piece, E_LENGTH << 2);
      store<i32>(e, 0, E_FLAGS << 2);
      store<i32>(e, chSlot, E_SLOT << 2);
      p += <usize>piece;
      remaining -= piece;
      if (remaining == 0) state = ST_TRAILER;
      continue;
    }

    // ST_TRAILER: "END\r\n" right after the payload (a payload may itself contain it).
    if (matched == 0 && stop - p >= 5) {
      if (load<u32>(p) != TRAILER4 || load<u8>(p, 4) != 10) {
        let k: usize = 0;
        while (k < 4 && load<u8>(p + k) == load<u8>(TRAILER_BYTES + k)) k++;
        writeError(n++, S_BAD_TRAILER, channel, p + k); state = ST_FAILED; break;
      }
      p += 5;
      matched = 5;
    } else {
      let bad = false;
      while (matched < 5 && p < stop) {
        if (load<u8>(p) != load<u8>(TRAILER_BYTES + <usize>matched)) { bad = true; break; }
        p++;
        matched++;
      }
      if (bad) { writeError(n++, S_BAD_TRAILER, channel, p); state = ST_FAILED; break; }
      if (matched < 5) break;
    }
    // Frame complete.
    if (lastPiece >= 0) {
      store<i32>(evAddr(lastPiece), F_END, E_FLAGS << 2);
    } else {
      const e = evAddr(n++);
      store<i32>(e, EV_DATA, E_KIND << 2);
      store<i32>(e, channel, E_CHANNEL << 2);
      store<i32>(e, <i32>(p - <usize>INPUT_OFFSET), E_OFFSET << 2);
      store<i32>(e, 0, E_LENGTH << 2);
      store<i32>(e, F_END, E_FLAGS << 2);
      store<i32>(e, chSlot, E_SLOT << 2);
    }
    lastPiece = -1;
    // A channel closed mid-frame (SS_CUR_SLOT cleared) gets no hint.
    if (chSlot >= 0) n = maybeHint(n, channelAddr(chSlot), channel, chSlot);
    matched = 0;
    state = ST_HEADER;
  }

  store<i32>(s, state, SS_STATE);
  store<u32>(s, remaining, SS_REMAINING);
  store<i32>(s, matched, SS_TRAILER);
  store<i32>(s, chSlot, SS_CUR_SLOT);
  store<i32>(s, channel, SS_CUR_CHANNEL);
  store<i32>(RESULT_OFFSET, <i32>(p - <usize>INPUT_OFFSET));
  return n;
}

/**
 * Accounts for `n` payload octets the caller delivered straight from its own buffer, so large
 * payloads never need copying into the input window. Valid only in state PAYLOAD with
 * n <= remaining; returns the octets still to come, or R_ARG.
 */
export function skip(slot: i32, n: i32): i32 {
  if (!sessionValid(slot)) return R_ARG;
  const s = sessionAddr(slot);
  if (load<i32>(s, SS_STATE) != ST_PAYLOAD) return R_ARG;
  const remaining = load<u32>(s, SS_REMAINING);
  if (n < 0 || <u32>n > remaining) return R_ARG;
  const left = remaining - <u32>n;
  store<u32>(s, left, SS_REMAINING);
  if (left == 0) {
    store<i32>(s, ST_TRAILER, SS_STATE);
    store<i32>(s, 0, SS_TRAILER);
  }
  return <i32>left;
}
