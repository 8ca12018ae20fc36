// Typed per-connection state for profile modules (TLS, SASL, TUNNEL) and applications: a slot
// object is the key, so a reader gets back the type the writer stored, without casts.

/** A typed key for data kept per connection (Connection.get/set/has). */
export class ConnectionSlot<T> {
  /** Phantom member carrying T (never set). */
  declare readonly type?: T;
  /** Names the slot in diagnostics. */
  constructor(
    /** The slot's name, shown in diagnostics. */
    readonly name: string,
  ) {}
}
