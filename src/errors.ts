// Error classes (docs/errors.md). Each carries a stable string `code`; `instanceof` works across
// package copies through a Symbol.for brand (the undici pattern).

const kBeepError = Symbol.for('beepwire.error');
const kFramingError = Symbol.for('beepwire.error.framing');
const kReplyError = Symbol.for('beepwire.error.reply');
const kCodecPanic = Symbol.for('beepwire.error.codec-panic');
const kMgmtSyntax = Symbol.for('beepwire.error.mgmt-syntax');
const kWebSocket = Symbol.for('beepwire.error.websocket');

/** Base class of every beepwire error; `code` is stable across releases. */
export class BeepError extends Error {
  /** Stable machine-readable code, e.g. `BEEP_ERR_FRAMING`. */
  readonly code: string;
  /** Creates an error with a stable code. */
  constructor(message: string, code = 'BEEP_ERR', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BeepError';
    this.code = code;
  }
  /** Brand check, so copies of the package recognise each other's errors. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kBeepError] === true;
  }
  /** Marks instances for the brand check. */
  get [kBeepError](): boolean {
    return true;
  }
}

/** A poorly formed frame (RFC 3080 §2.2.1.1): the session is terminated. */
export class BeepFramingError extends BeepError {
  /** Channel the frame named, or -1 when it could not be attributed. */
  readonly channel: number;
  /** Octet offset in the peer's stream where the problem starts. */
  readonly streamOffset: number;
  /** Codec status (S_* in src/codec/layout.ts), 0 when found above the codec. */
  readonly status: number;
  /** Creates a framing error at a stream position. */
  constructor(message: string, status: number, channel: number, streamOffset: number) {
    super(message, 'BEEP_ERR_FRAMING');
    this.name = 'BeepFramingError';
    this.status = status;
    this.channel = channel;
    this.streamOffset = streamOffset;
  }
  /** Brand check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kFramingError] === true;
  }
  /** Marks instances for the brand check. */
  get [kFramingError](): boolean {
    return true;
  }
}

/** A BEEP error reply from the peer, with its RFC 3080 §8 reply code (421..554). */
export class BeepReplyError extends BeepError {
  /** Three-digit reply code (RFC 3080 §8). */
  readonly replyCode: number;
  /** The peer's diagnostic text, if any. */
  readonly text: string;
  /** Creates an error from a reply code and text. */
  constructor(replyCode: number, text: string) {
    super(`${replyCode} ${text}`.trim(), 'BEEP_ERR_REPLY');
    this.name = 'BeepReplyError';
    this.replyCode = replyCode;
    this.text = text;
  }
  /** Brand check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kReplyError] === true;
  }
  /** Marks instances for the brand check. */
  get [kReplyError](): boolean {
    return true;
  }
}

/** The WASM codec trapped: a bug in beepwire, never caused by input. */
export class BeepCodecPanic extends BeepError {
  /** Wraps the WebAssembly.RuntimeError. */
  constructor(cause: unknown) {
    super(`beepwire codec panic: ${String((cause as Error)?.message ?? cause)}`, 'BEEP_ERR_CODEC_PANIC', { cause });
    this.name = 'BeepCodecPanic';
  }
  /** Brand check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kCodecPanic] === true;
  }
  /** Marks instances for the brand check. */
  get [kCodecPanic](): boolean {
    return true;
  }
}

/**
 * Malformed XML of channel 0 or of a profile's elements (TLS, SASL, TUNNEL), or a malformed
 * SASL mechanism message (OTP): code BEEP_ERR_MGMT and the RFC 3080 §8 reply code that answers
 * it, 500 (syntax), 501 (parameter) or 504 (parameter not implemented).
 */
export class MgmtSyntaxError extends BeepError {
  /** RFC 3080 §8 reply code: 500, 501 or 504. */
  readonly replyCode: number;
  /** Creates the error. */
  constructor(message: string, replyCode = 500) {
    super(message, 'BEEP_ERR_MGMT');
    this.name = 'MgmtSyntaxError';
    this.replyCode = replyCode;
  }
  /** Brand check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kMgmtSyntax] === true;
  }
  /** Marks instances for the brand check. */
  get [kMgmtSyntax](): boolean {
    return true;
  }
}

/**
 * A WebSocket connection under BEEP ended abnormally (code BEEP_ERR_WEBSOCKET): the peer's
 * close frame gave a code other than 1000/1005, the connection ended without a close frame
 * (1006), or the peer broke RFC 6455 and we failed the connection (1002 protocol error, 1009
 * message over maxPayload, 1008 pings faster than their pongs leave).
 */
export class BeepWebSocketError extends BeepError {
  /** RFC 6455 §7.4 status code: the peer's, or the one we closed with (1006: no close frame). */
  readonly closeCode: number;
  /** Creates the error. */
  constructor(message: string, closeCode: number, options?: { cause?: unknown }) {
    super(message, 'BEEP_ERR_WEBSOCKET', options);
    this.name = 'BeepWebSocketError';
    this.closeCode = closeCode;
  }
  /** Brand check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kWebSocket] === true;
  }
  /** Marks instances for the brand check. */
  get [kWebSocket](): boolean {
    return true;
  }
}

/**
 * Text of a thrown value, never throwing itself: handlers may throw anything (a Proxy whose
 * traps throw, an object without a prototype, a `message` getter that throws).
 */
export function thrownText(v: unknown): string {
  try {
    const m = (v as Error | undefined)?.message;
    if (typeof m === 'string') return m;
  } catch {
    /* fall through to String() */
  }
  try {
    return String(v);
  } catch {
    return '<unprintable thrown value>';
  }
}

/** The thrown value as an Error (itself when it is one), never throwing. */
export function asError(v: unknown, code = 'BEEP_ERR_HANDLER'): Error {
  let isError = false;
  try {
    isError = v instanceof Error;
  } catch {
    /* a Proxy's getPrototypeOf trap threw */
  }
  return isError ? (v as Error) : new BeepError(`non-error thrown: ${thrownText(v)}`, code, { cause: v });
}
