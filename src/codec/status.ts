// Human-readable text for codec statuses and control return codes.
import * as L from './layout.js';

const STATUS_TEXT: Record<number, string> = {
  [L.S_BAD_KEYWORD]: 'header keyword is not MSG, RPY, ERR, ANS, NUL or SEQ',
  [L.S_BAD_FIELD]: 'header field missing, empty or not a number',
  [L.S_FIELD_RANGE]: 'header field out of range',
  [L.S_MISSING_CRLF]: 'header line does not end in CRLF',
  [L.S_HEADER_TOO_LONG]: 'header line longer than the limit',
  [L.S_BAD_TRAILER]: 'payload not followed by END CRLF',
  [L.S_BAD_SEQNO]: 'unexpected sequence number',
  [L.S_WINDOW_EXCEEDED]: 'frame exceeds the receive window',
  [L.S_SIZE_TOO_LARGE]: 'frame payload larger than the limit',
  [L.S_UNKNOWN_CHANNEL]: 'frame on a channel that is not open',
  [L.S_BAD_MORE]: 'continuation indicator is neither "." nor "*"',
  [L.S_CONTINUATION]: 'frame does not continue the previous "*" frame',
  [L.S_NUL_CONTINUED]: 'NUL frame with continuation indicator "*"',
  [L.S_BAD_ACKNO]: 'SEQ acknowledges octets never sent',
};

const RETURN_TEXT: Record<number, string> = {
  [L.R_TABLE_FULL]: 'codec capacity limit reached (setCodecLimits)',
  [L.R_CHANNEL_EXISTS]: 'channel already open',
  [L.R_UNKNOWN_CHANNEL]: 'channel not open',
  [L.R_BAD_SLOT]: 'session slot not in use',
  [L.R_WINDOW]: 'frame does not fit in the send window',
  [L.R_ARG]: 'argument out of range',
  [L.R_NO_MEMORY]: 'codec memory cannot grow',
};

/** Describes a decode status (S_*). */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? `codec status ${status}`;
}

/** Describes a control return code (R_*). */
export function returnText(code: number): string {
  return RETURN_TEXT[code] ?? `codec return ${code}`;
}
