/** Receives decoded events. Payload pieces are (buf, offset, length) views of the caller's chunk. */
export interface FrameHandler {
  /** A frame header was accepted; `length` octets of its payload are in `buf` at `offset`. */
  onFrame(
    type: number,
    channel: number,
    msgno: number,
    more: boolean,
    seqno: number,
    size: number,
    ansno: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    end: boolean,
  ): void;
  /** A further payload piece of the channel's frame in progress; `end` once the trailer checked. */
  onData(channel: number, buf: Uint8Array, offset: number, length: number, end: boolean): void;
  /** A SEQ frame updated the send window of `channel`. */
  onSeq(channel: number, ackno: number, window: number): void;
  /** Half the receive window of `channel` is consumed; `ackno` acknowledges everything received. */
  onSeqHint(channel: number, ackno: number, unacked: number): void;
  /** Poorly formed input (`status` is an S_* code); the session must end. */
  onError(status: number, channel: number, streamOffset: number): void;
}

/** Limits of one session's codec state. */
export interface CodecLimits {
  /** Longest header line accepted, CRLF included (16..4096, default 1024). */
  maxHeader?: number;
  /** Largest frame payload accepted (default 1 MiB). */
  maxFrame?: number;
}

/** Decoding half of a session codec. */
export interface FrameDecoder {
  /** Decode a socket chunk, calling `handler` for every event; returns false once failed. */
  decode(chunk: Uint8Array, handler: FrameHandler): boolean;
  /** True after poorly formed input. */
  readonly failed: boolean;
  /** Octets consumed from the peer so far. */
  readonly streamOffset: number;
}

/**
 * Encoding half of a session codec. Returned headers may be views of codec memory, valid until
 * the next encode call on any session: copy to keep.
 */
export interface FrameEncoder {
  /** Header for a data frame at the channel's next seqno; advances it by `size`. */
  encodeFrame(type: number, channel: number, msgno: number, more: boolean, size: number, ansno: number): Uint8Array;
  /**
   * Header for the next frame of a message with `left` octets to go: size = min(left, send
   * window, maxFrame), "*" when octets remain; the size is then in `fitSize`. Null when the
   * window is shut (left > 0, nothing granted).
   */
  encodeFit(type: number, channel: number, msgno: number, left: number, maxFrame: number, ansno: number): Uint8Array | null;
  /** Payload size chosen by the last encodeFit. */
  readonly fitSize: number;
  /** A SEQ frame granting `window` octets from `ackno`; never shrinks an earlier grant. */
  encodeSeq(channel: number, ackno: number, window: number): Uint8Array;
  /** Octets the peer lets us send on `channel` now. */
  sendWindow(channel: number): number;
}

/** Window edges setSeqState may place explicitly (defaults: the receive window reopened in full at recvNext, the send window's free span kept). */
export interface SeqEdges {
  /** Seqno the receive window starts at (RFC 3081 ackno). */
  recvAckno?: number;
  /** Receive window size granted from recvAckno. */
  recvWindow?: number;
  /** First seqno past what the peer lets us send. */
  sendLimit?: number;
}

/** Receive-side sequence state of one channel (RFC 3081 §3.1). */
export interface RecvSeqState {
  /** Seqno of the next payload octet expected from the peer. */
  next: number;
  /** Seqno our last SEQ acknowledged up to: where the granted window starts. */
  ackno: number;
  /** Window size our last SEQ granted from `ackno`. */
  window: number;
}

/** Send-side sequence state of one channel (RFC 3081 §3.1). */
export interface SendSeqState {
  /** Seqno of the next payload octet we send. */
  next: number;
  /** First seqno past what the peer lets us send (its ackno plus window). */
  limit: number;
}

/** Codec state of one BEEP session: channel table, seqno and window accounting, both halves. */
export interface SessionCodec extends FrameDecoder, FrameEncoder {
  /** Which implementation this is. */
  readonly impl: 'wasm' | 'ref';
  /** Start tracking a channel (seqnos 0, windows 4096 both ways). */
  openChannel(channel: number): void;
  /** Stop tracking a channel. */
  closeChannel(channel: number): void;
  /** True when the channel is tracked. */
  hasChannel(channel: number): boolean;
  /** Next seqno expected from the peer and octets not yet acknowledged. */
  recvState(channel: number): RecvSeqState;
  /** Next seqno we send and the peer's limit. */
  sendState(channel: number): SendSeqState;
  /** Override sequence state (tests, and the regression suite's seqno-wrap profile). */
  setSeqState(channel: number, recvNext: number, sendNext: number, edges?: SeqEdges): void;
  /** Tuning reset (RFC 3080 §3): every channel gone, parse state cleared. */
  reset(): void;
  /** Release the slot; the codec is unusable afterwards. */
  dispose(): void;
}
