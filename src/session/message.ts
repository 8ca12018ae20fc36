// Messages and frames as the session delivers them (the API's Frame), with RFC 3080 §2.2 MIME
// parsed lazily. One object per delivered message: the hot path allocates nothing else.
import { parseMime, type MimeEntity } from './mime.js';

/** Frame keywords (RFC 3080 §2.2.1). */
export type FrameType = 'MSG' | 'RPY' | 'ERR' | 'ANS' | 'NUL';

/** Keyword by codec type number (T_MSG = 1 ... T_NUL = 5). */
export const TYPE_NAMES: readonly FrameType[] = ['MSG', 'MSG', 'RPY', 'ERR', 'ANS', 'NUL'];

const utf8 = new TextDecoder();

/** A received message (complete-message delivery) or frame (per-frame delivery); the API's Frame. */
export class Message {
  /** Frame keyword. */
  readonly type: FrameType;
  /** Channel number. */
  readonly channel: number;
  /** Message number. */
  readonly msgno: number;
  /** Answer number (ANS only, else 0). */
  readonly ansno: number;
  /** Sequence number of the first octet. */
  readonly seqno: number;
  /** True for a non-final frame in per-frame delivery. */
  readonly more: boolean;
  /** Whole payload: MIME headers and body. */
  readonly content: Uint8Array;
  /** Whether MIME headers are interpreted (off for profiles that exchange raw content). */
  readonly mime: boolean;
  #entity: MimeEntity | undefined;

  /** Creates a message; `content` is owned by the message. */
  constructor(type: FrameType, channel: number, msgno: number, ansno: number, seqno: number, more: boolean, content: Uint8Array, mime = true) {
    this.type = type;
    this.channel = channel;
    this.msgno = msgno;
    this.ansno = ansno;
    this.seqno = seqno;
    this.more = more;
    this.content = content;
    this.mime = mime;
  }

  /**
   * Copies the content out of a larger buffer it is a view of, so that holding the message
   * (parked, queued for an iterator, collected as an answer) does not keep a whole socket
   * chunk alive. Cheap when the content is most of its buffer already (then left as is).
   */
  compact(): void {
    const c = this.content;
    if (c.length * 4 >= c.buffer.byteLength) return;
    (this as { content: Uint8Array }).content = Uint8Array.prototype.slice.call(c); // a Buffer's slice() would be a view
    this.#entity = undefined;
  }

  /** Parsed MIME entity (RFC 3080 §2.2); with MIME off, the whole content is the body. */
  get entity(): MimeEntity {
    if (this.#entity === undefined) {
      this.#entity = this.mime && !this.more ? parseMime(this.content)
        : { headers: [], contentType: 'application/octet-stream', transferEncoding: 'binary', body: this.content, hasHeaderBlock: false };
    }
    return this.#entity;
  }

  /** Body without MIME headers. */
  get payload(): Uint8Array { return this.entity.body; }
  /** Body decoded as UTF-8. */
  get text(): string { return utf8.decode(this.payload); }
  /** Content type (default application/octet-stream). */
  get contentType(): string { return this.entity.contentType; }
  /**
   * Message number: the one alias of the Frame, for PyVortex's `frame.msg_no` as the manual
   * writes it (`channel.sendRpy(frame.payload, frame.payloadSize, frame.msgNo)`). The canonical
   * names are the fields msgno, seqno and ansno (PyVortex's own, RFC 3080's header fields).
   */
  get msgNo(): number { return this.msgno; }
  /** Body size in octets (PyVortex frame.payload_size). */
  get payloadSize(): number { return this.payload.length; }
  /** MIME headers as received. */
  get mimeHeaders(): ReadonlyArray<[string, string]> { return this.entity.headers; }
  /** A short description for logs. */
  toString(): string { return `${this.type} ${this.channel} ${this.msgno} ${this.more ? '*' : '.'} ${this.seqno} ${this.payload.length}`; }
}
