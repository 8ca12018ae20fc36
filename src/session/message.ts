// Messages and frames as the session delivers them (the API's Frame), with RFC 3080 §2.2 MIME
// parsed lazily. One object per delivered message, and one view when the handler reads its payload.
import { parseMime, type MimeEntity } from './mime.js';

/** Frame keywords (RFC 3080 §2.2.1). */
export type FrameType = 'MSG' | 'RPY' | 'ERR' | 'ANS' | 'NUL';

/** Keyword by codec type number (T_MSG = 1 ... T_NUL = 5). */
export const TYPE_NAMES: readonly FrameType[] = ['MSG', 'MSG', 'RPY', 'ERR', 'ANS', 'NUL'];

const utf8 = new TextDecoder();
const EMPTY = new Uint8Array(0);
/**
 * A plain Uint8Array view of octets [off, off + len) of `buf`: a plain array's subarray (the
 * session hands plain chunks) is the cheapest; a Buffer's would make a Buffer, several times slower.
 */
function view(buf: Uint8Array, off: number, len: number): Uint8Array {
  return buf.constructor === Uint8Array ? buf.subarray(off, off + len) : new Uint8Array(buf.buffer, buf.byteOffset + off, len);
}
/** A list of pieces rather than one array (not instanceof Uint8Array: chunks may come from another realm). */
const isParts = (c: Uint8Array | readonly Uint8Array[]): c is readonly Uint8Array[] => Array.isArray(c);

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
  /** Whether MIME headers are interpreted (off for profiles that exchange raw content). */
  readonly mime: boolean;
  // The content is octets [#off, #off + #len) of #buf; its view is made when first asked for
  // (a handler that reads only `payload` costs one view, not three). A message reassembled
  // from several frames or reads keeps its pieces in #parts and is joined only when asked.
  #buf: Uint8Array;
  #parts: readonly Uint8Array[] | undefined;
  #off: number;
  #len: number;
  #content: Uint8Array | undefined;
  #body: Uint8Array | undefined;
  #entity: MimeEntity | undefined;

  /**
   * Creates a message; `content` is owned by the message. With `offset` (and `length`), the
   * content is that range of `content` (a socket chunk the message may keep a view of). A list
   * of pieces is the content in order (joined when first asked for).
   */
  constructor(
    type: FrameType,
    channel: number,
    msgno: number,
    ansno: number,
    seqno: number,
    more: boolean,
    content: Uint8Array | readonly Uint8Array[],
    mime = true,
    offset = -1,
    length = 0,
  ) {
    this.type = type;
    this.channel = channel;
    this.msgno = msgno;
    this.ansno = ansno;
    this.seqno = seqno;
    this.more = more;
    this.mime = mime;
    if (isParts(content)) {
      let n = 0;
      for (const p of content) n += p.length;
      this.#parts = content;
      this.#buf = content.length > 0 ? content[0]! : EMPTY;
      this.#off = 0;
      this.#len = n;
      this.#content = undefined;
    } else if (offset < 0) {
      this.#parts = undefined;
      this.#buf = content;
      this.#off = 0;
      this.#len = content.length;
      this.#content = content;
    } else {
      this.#parts = undefined;
      this.#buf = content;
      this.#off = offset;
      this.#len = length;
      this.#content = undefined;
    }
    this.#body = undefined;
    this.#entity = undefined;
  }

  /** Whole payload: MIME headers and body. */
  get content(): Uint8Array {
    if (this.#content !== undefined) return this.#content;
    if (this.#parts !== undefined) return this.#join();
    // A plain Uint8Array view: Buffer#subarray is several times slower to construct.
    return (this.#content = view(this.#buf, this.#off, this.#len));
  }

  /** The pieces joined into one array (once; the pieces are then let go). */
  #join(): Uint8Array {
    const parts = this.#parts!;
    const out = new Uint8Array(this.#len);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    this.#parts = undefined;
    this.#buf = this.#content = out;
    this.#off = 0;
    return out;
  }

  /**
   * The content as pieces in order, without joining them (views of the socket chunks they
   * arrived in, or the one content array): for code that forwards or writes a large message.
   */
  get contentParts(): readonly Uint8Array[] {
    return this.#parts ?? [this.content];
  }

  /** Octets of the whole payload (MIME headers and body), without making a view. */
  get size(): number {
    return this.#len;
  }

  /**
   * Copies the content out of a larger buffer it is a view of, so that holding the message
   * (parked, queued for an iterator, collected as an answer) does not keep a whole socket
   * chunk alive. Cheap when the content is most of its buffer already (then left as is).
   */
  compact(): void {
    if (this.#parts !== undefined) {
      this.#join();
      this.#body = undefined;
      this.#entity = undefined;
      return;
    }
    if (this.#len * 4 >= this.#buf.buffer.byteLength) return;
    const copy = Uint8Array.prototype.slice.call(this.#buf, this.#off, this.#off + this.#len); // a Buffer's slice() would be a view
    this.#buf = this.#content = copy;
    this.#off = 0;
    this.#body = undefined;
    this.#entity = undefined;
  }

  /** Parsed MIME entity (RFC 3080 §2.2); with MIME off, the whole content is the body. */
  get entity(): MimeEntity {
    if (this.#entity === undefined) {
      this.#entity =
        this.mime && !this.more
          ? parseMime(this.content)
          : { headers: [], contentType: 'application/octet-stream', transferEncoding: 'binary', body: this.content, hasHeaderBlock: false };
    }
    return this.#entity;
  }

  /** Body without MIME headers. */
  get payload(): Uint8Array {
    if (this.#body !== undefined) return this.#body;
    if (this.#entity === undefined) {
      if (!this.mime || this.more) return (this.#body = this.content);
      // The common case, an empty header block (RFC 3080 §2.2; LibVortex always sends it):
      // the body is a view after the CRLF, with no entity parsed.
      if (this.#parts !== undefined) this.#join();
      const b = this.#buf,
        o = this.#off;
      if (this.#len >= 2 && b[o] === 13 && b[o + 1] === 10) return (this.#body = view(b, o + 2, this.#len - 2));
    }
    return (this.#body = this.entity.body);
  }

  /** Body decoded as UTF-8. */
  get text(): string {
    return utf8.decode(this.payload);
  }
  /** Content type (default application/octet-stream). */
  get contentType(): string {
    return this.entity.contentType;
  }
  /**
   * Message number: the one alias of the Frame, for PyVortex's `frame.msg_no` as the manual
   * writes it (`channel.sendRpy(frame.payload, frame.payloadSize, frame.msgNo)`). The canonical
   * names are the fields msgno, seqno and ansno (PyVortex's own, RFC 3080's header fields).
   */
  get msgNo(): number {
    return this.msgno;
  }
  /** Body size in octets (PyVortex frame.payload_size). */
  get payloadSize(): number {
    return this.payload.length;
  }
  /** MIME headers as received. */
  get mimeHeaders(): ReadonlyArray<[string, string]> {
    return this.entity.headers;
  }
  /** A short description for logs. */
  toString(): string {
    return `${this.type} ${this.channel} ${this.msgno} ${this.more ? '*' : '.'} ${this.seqno} ${this.payload.length}`;
  }
}
