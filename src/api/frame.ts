// Frame: what frame-received handlers get (PyVortex vortex.Frame, TypeScript names).
import type { FrameType, Message } from '../session/message.js';

/** A received frame or, with complete-message delivery (the default), a whole message. */
export class Frame {
  readonly #m: Message;
  /** Wraps a session message. */
  constructor(m: Message) { this.#m = m; }
  /** 'MSG', 'RPY', 'ERR', 'ANS' or 'NUL'. */
  get type(): FrameType { return this.#m.type; }
  /** Channel number. */
  get channel(): number { return this.#m.channel; }
  /** Message number. */
  get msgNo(): number { return this.#m.msgno; }
  /** Sequence number of the first octet. */
  get seqNo(): number { return this.#m.seqno; }
  /** Answer number (ANS). */
  get ansNo(): number { return this.#m.ansno; }
  /** True for an intermediate frame (per-frame delivery only). */
  get more(): boolean { return this.#m.more; }
  /** Body without MIME headers. */
  get payload(): Uint8Array { return this.#m.payload; }
  /** Body size in octets. */
  get payloadSize(): number { return this.#m.payload.length; }
  /** Body as UTF-8 text. */
  get text(): string { return this.#m.text; }
  /** Whole content: MIME headers and body, as received. */
  get content(): Uint8Array { return this.#m.content; }
  /** Content type (RFC 3080 §2.2 default application/octet-stream). */
  get contentType(): string { return this.#m.contentType; }
  /** MIME headers as received. */
  get mimeHeaders(): ReadonlyArray<[string, string]> { return this.#m.entity.headers; }
  /** A short description for logs. */
  toString(): string { return `${this.type} ${this.channel} ${this.msgNo} ${this.more ? '*' : '.'} ${this.seqNo} ${this.payloadSize}`; }
}
