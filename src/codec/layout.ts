// TS mirror of assembly/layout.ts (the codec's linear-memory layout, statuses and event format).
// test/codec/layout.test.ts checks every value against the compiled module's globals.
// All offsets are byte offsets into the module's single memory. Fixed regions (I/O windows,
// events, chunk directories) come first; session/channel chunks and the hash table are taken
// from a bump heap above HEAP_OFFSET that grows with memory.grow (docs/codec.md, "Memory").

/** Result words written by decode(): [0] = input position where decoding stopped. */
export const RESULT_OFFSET = 0;
/** Where encodeFrame/encodeSeq write one header line (<= 64 bytes). */
export const OUTPUT_OFFSET = 256;
/** Size of the output region. */
export const OUTPUT_SIZE = 256;
/** Input window: TS copies socket bytes here before calling decode(). */
export const INPUT_OFFSET = 1024;
/** 64 KiB of chunk plus room for a carried-over partial header (<= MAX_HEADER_LIMIT). */
export const INPUT_SIZE = 65536 + 4096;
/** Largest header-length limit a session may configure. */
export const MAX_HEADER_LIMIT = 4096;
/** Event records, EVENT_WORDS int32 each, written from index 0 by every decode() call. */
export const EVENTS_OFFSET = INPUT_OFFSET + INPUT_SIZE;
/** int32 words per event record. */
export const EVENT_WORDS = 12;
/** Records per decode() call; decode stops early (between frames) when fewer than 2 remain. */
export const EVENT_CAPACITY = 2048;
/** Directory of session chunks: one u32 byte address per SESSION_CHUNK slots, 0 = not yet allocated. */
export const SESSION_DIR_OFFSET = EVENTS_OFFSET + EVENT_WORDS * 4 * EVENT_CAPACITY;
/** log2 of the session slots per chunk. */
export const SESSION_CHUNK_SHIFT = 10;
/** Session slots per chunk (one 64 KiB page of records). */
export const SESSION_CHUNK = 1 << SESSION_CHUNK_SHIFT;
/** Bytes per session slot. */
export const SESSION_BYTES = 64;
/** Entries in the session directory. */
export const SESSION_DIR_ENTRIES = 4096;
/** Hard ceiling on concurrent sessions (the directory's reach): 4,194,304. */
export const MAX_SESSIONS = SESSION_DIR_ENTRIES * SESSION_CHUNK;
/** Directory of channel chunks, as for sessions. */
export const CHANNEL_DIR_OFFSET = SESSION_DIR_OFFSET + 4 * SESSION_DIR_ENTRIES;
/** log2 of the channel slots per chunk. */
export const CHANNEL_CHUNK_SHIFT = 10;
/** Channel slots per chunk (48 KiB of records). */
export const CHANNEL_CHUNK = 1 << CHANNEL_CHUNK_SHIFT;
/** Bytes per channel slot. */
export const CHANNEL_BYTES = 48;
/** Entries in the channel directory. */
export const CHANNEL_DIR_ENTRIES = 16384;
/** Hard ceiling on concurrent channels over all sessions: 16,777,216. */
export const MAX_CHANNELS = CHANNEL_DIR_ENTRIES * CHANNEL_CHUNK;
/** First byte after the codec's fixed regions; AssemblyScript's own static data starts here. */
export const LAYOUT_END = CHANNEL_DIR_OFFSET + 4 * CHANNEL_DIR_ENTRIES;
/** Start of the bump heap (chunks, hash tables); the gap above LAYOUT_END holds static data. */
export const HEAP_OFFSET = LAYOUT_END + 1024;
/** Entries of the first (session, channel) -> slot hash table; it doubles past 50 % load. */
export const HASH_INITIAL = 1024;
/** Default process-wide limit on concurrent sessions (setLimits). */
export const DEFAULT_MAX_SESSIONS = 1000000;
/** Default process-wide limit on concurrent channels over all sessions (setLimits). */
export const DEFAULT_MAX_CHANNELS = 4000000;
/** Memory pages at instantiation: the fixed regions and the first hash table. */
export const MEMORY_INITIAL_PAGES = 4;
/** Memory pages at most (2 GiB: every byte address stays a positive int32 for TS). */
export const MEMORY_MAX_PAGES = 32768;

// Event record fields (int32 index within a record).
/** Event kind (EV_*). */
export const E_KIND = 0;
/** Frame type (T_*) or, for EV_ERROR, the status (S_*). */
export const E_TYPE = 1;
/** Channel number, -1 when unknown. */
export const E_CHANNEL = 2;
/** Message number. */
export const E_MSGNO = 3;
/** 1 when the continuation indicator is "*". */
export const E_MORE = 4;
/** Sequence number (u32 bits); ackno for EV_SEQ; next expected seqno for EV_SEQ_HINT. */
export const E_SEQNO = 5;
/** Payload size; window for EV_SEQ; un-acknowledged octets for EV_SEQ_HINT. */
export const E_SIZE = 6;
/** Answer number (u32 bits), 0 unless ANS. */
export const E_ANSNO = 7;
/** Input-window offset of this payload piece; for EV_ERROR, of the offending byte/header. */
export const E_OFFSET = 8;
/** Length of this payload piece. */
export const E_LENGTH = 9;
/** F_* flags. */
export const E_FLAGS = 10;
/** Channel slot index (internal; -1 when none). */
export const E_SLOT = 11;

/** A frame header was accepted; carries the first payload piece. */
export const EV_FRAME = 1;
/** A further payload piece of the frame in progress. */
export const EV_DATA = 2;
/** A SEQ frame was accepted and the send window updated. */
export const EV_SEQ = 3;
/** Half or more of the receive window is consumed: time to send SEQ. */
export const EV_SEQ_HINT = 4;
/** Poorly formed input; the session slot is now failed. */
export const EV_ERROR = 5;

/** Flag: this event completes the frame (trailer verified). */
export const F_END = 1;

// Frame types.
/** MSG */ export const T_MSG = 1;
/** RPY */ export const T_RPY = 2;
/** ERR */ export const T_ERR = 3;
/** ANS */ export const T_ANS = 4;
/** NUL */ export const T_NUL = 5;
/** SEQ (RFC 3081) */ export const T_SEQ = 6;

// Decode statuses (EV_ERROR E_TYPE). RFC 3080 §2.2.1.1 / RFC 3081 §3.1.
/** Keyword is not MSG, RPY, ERR, ANS, NUL or SEQ followed by SP. */
export const S_BAD_KEYWORD = 1;
/** A field is missing, empty, non-numeric, or there are extra fields/spaces. */
export const S_BAD_FIELD = 2;
/** A numeric field is out of its range. */
export const S_FIELD_RANGE = 3;
/** The header line does not end in CRLF (bare LF). */
export const S_MISSING_CRLF = 4;
/** No CRLF within the session's header-length limit. */
export const S_HEADER_TOO_LONG = 5;
/** The payload is not followed by "END\r\n". */
export const S_BAD_TRAILER = 6;
/** seqno differs from the next expected for the channel. */
export const S_BAD_SEQNO = 7;
/** The frame would exceed the receive window granted. */
export const S_WINDOW_EXCEEDED = 8;
/** size exceeds the session's maximum frame size. */
export const S_SIZE_TOO_LARGE = 9;
/** The channel is not open. */
export const S_UNKNOWN_CHANNEL = 10;
/** The continuation indicator is neither "." nor "*". */
export const S_BAD_MORE = 11;
/** The previous frame on the channel had "*" and this one differs in keyword or msgno. */
export const S_CONTINUATION = 12;
/** A NUL frame with "*". */
export const S_NUL_CONTINUED = 13;
/** SEQ ackno acknowledges octets never sent. */
export const S_BAD_ACKNO = 14;

// Negative returns of the control exports (misuse by TS, never peer input).
/** A process-wide limit (setLimits) or hard ceiling on sessions or channels is reached. */
export const R_TABLE_FULL = -1;
/** The channel is already open. */
export const R_CHANNEL_EXISTS = -2;
/** The channel is not open. */
export const R_UNKNOWN_CHANNEL = -3;
/** The session slot is not in use. */
export const R_BAD_SLOT = -4;
/** The frame does not fit in the send window. */
export const R_WINDOW = -5;
/** An argument is out of range. */
export const R_ARG = -6;
/** A table could not grow: memory.grow failed (MEMORY_MAX_PAGES or the host refused). */
export const R_NO_MEMORY = -7;

// Session slot fields (byte offsets within a session record).
/** 0 free, ST_* otherwise. */ export const SS_STATE = 0;
/** Header-length limit. */ export const SS_MAX_HEADER = 4;
/** Maximum frame payload size. */ export const SS_MAX_FRAME = 8;
/** Payload octets still to come. */ export const SS_REMAINING = 12;
/** Trailer octets matched so far. */ export const SS_TRAILER = 16;
/** Channel slot of the frame in progress. */ export const SS_CUR_SLOT = 20;
/** Channel number of the frame in progress. */ export const SS_CUR_CHANNEL = 24;
/** Head of the session's channel list (slot + 1, 0 = none). */ export const SS_HEAD = 28;
/** Open channels. */ export const SS_COUNT = 32;
/** Next free session slot + 1 (free list). */ export const SS_NEXT_FREE = 36;

/** Reading a header line. */ export const ST_HEADER = 1;
/** Reading payload. */ export const ST_PAYLOAD = 2;
/** Reading "END\r\n". */ export const ST_TRAILER = 3;
/** Poorly formed input seen; decode() does nothing. */ export const ST_FAILED = 4;

// Channel slot fields.
/** Session slot + 1 (0 = free). */ export const CS_SESSION = 0;
/** Channel number. */ export const CS_CHANNEL = 4;
/** Next seqno expected from the peer. */ export const CS_RECV_NEXT = 8;
/** Last ackno we sent. */ export const CS_RECV_ACKNO = 12;
/** Last window we granted. */ export const CS_RECV_WINDOW = 16;
/** Next seqno we send. */ export const CS_SEND_NEXT = 20;
/** Peer's ackno + window: first octet we may not send. */ export const CS_SEND_LIMIT = 24;
/** CF_* flags. */ export const CS_FLAGS = 28;
/** Keyword of the last "*" frame received. */ export const CS_CONT_TYPE = 32;
/** msgno of the last "*" frame received. */ export const CS_CONT_MSGNO = 36;
/** Next channel slot + 1 in the session list, or next free slot + 1. */ export const CS_NEXT = 40;
/** Previous channel slot + 1 in the session list. */ export const CS_PREV = 44;

/** A SEQ hint was emitted since the last encodeSeq. */ export const CF_HINTED = 1;
/** The last frame received had "*". */ export const CF_CONTINUED = 2;

/** RFC 3081 §3.1.1: every channel starts with a 4096-octet window. */
export const INITIAL_WINDOW = 4096;
