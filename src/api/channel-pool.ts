// Channel pools (LibVortex vortex_channel_pool, PyVortex vortex.ChannelPool): a set of channels
// running one profile on one connection, handed out one at a time. As in LibVortex, a channel
// is ready when it is open (not closing), has no MSG of ours awaiting a reply and is not handed
// out; nextReady() marks it busy until release(). A channel that closes leaves its pool.
import { ConnectionSlot } from './slot.js';
import type { Connection, OpenChannelOptions } from './connection.js';
import type { Channel } from './channel.js';
import type { Ctx, FrameReceived } from './ctx.js';

/** Options of Connection.channelPoolNew. */
export interface ChannelPoolOptions {
  /**
   * Opens a channel for the pool (PyVortex create_channel handler); `userData` is what
   * nextReady() or add() was given. Default: conn.openChannel(0, profile, { ...open, frameReceived }).
   */
  createChannel?: (conn: Connection, profile: string, userData: unknown) => Channel | null | Promise<Channel | null>;
  /** Frame-received handler of every channel the pool opens (PyVortex received). */
  frameReceived?: FrameReceived;
  /** Options of every openChannel the pool makes (serverName, piggyback, MIME, limits). */
  open?: OpenChannelOptions;
}

/** The pools of one connection (kept in a slot: nothing in Connection's own fields). */
interface Pools {
  next: number;
  byId: Map<number, ChannelPool>;
}

const POOLS = new ConnectionSlot<Pools>('channel pools');

/** A set of channels of one profile on one connection, handed out one at a time (PyVortex vortex.ChannelPool). */
export class ChannelPool {
  /** Identifier, unique within the connection; the first pool is 1 (PyVortex pool.id). */
  readonly id: number;
  /** The connection (PyVortex pool.conn). */
  readonly conn: Connection;
  /** Profile every channel of the pool runs. */
  readonly profile: string;
  readonly #opts: ChannelPoolOptions;
  #channels: Channel[] = [];
  readonly #busy = new Set<Channel>();
  #closed = false;

  /** Use conn.channelPoolNew(). */
  constructor(conn: Connection, id: number, profile: string, opts: ChannelPoolOptions) {
    this.conn = conn;
    this.id = id;
    this.profile = profile;
    this.#opts = opts;
  }

  /** Context of the connection (PyVortex pool.ctx). */
  get ctx(): Ctx {
    return this.conn.ctx;
  }

  /** Channels in the pool, busy or not (PyVortex pool.channel_count). */
  get count(): number {
    return this.#live().length;
  }

  /** Channels nextReady() could hand out now (PyVortex pool.channel_available). */
  get available(): number {
    return this.#live().filter((c) => this.isReady(c)).length;
  }

  /** The pool's channels, oldest first. */
  get channels(): readonly Channel[] {
    return [...this.#live()];
  }

  /** True when `channel` is open, not closing, awaits no reply of ours and is not handed out. */
  isReady(channel: Channel): boolean {
    return channel.isOk() && channel.state.state === 'open' && channel.outstanding === 0 && !this.#busy.has(channel);
  }

  /**
   * Hands out a ready channel, marked busy until release() (PyVortex pool.next_ready). None
   * ready: with `autoInc` the pool opens one more (given `userData` for createChannel), else
   * null. Null also when that open fails (the reason in conn.popChannelError()).
   */
  async nextReady(autoInc = false, userData?: unknown): Promise<Channel | null> {
    const ch = this.#live().find((c) => this.isReady(c));
    if (ch !== undefined) {
      this.#busy.add(ch);
      return ch;
    }
    if (!autoInc || this.#closed) return null;
    const added = await this.#open(userData);
    if (added === null) return null;
    this.#busy.add(added); // busy before it joins: no other caller can be handed it first
    this.#channels.push(added);
    return added;
  }

  /** Gives back a channel handed out by nextReady() (PyVortex pool.release); false when it is not in the pool. */
  release(channel: Channel): boolean {
    if (!this.#channels.includes(channel)) return false;
    this.#busy.delete(channel);
    return true;
  }

  /** Opens `n` more channels (LibVortex vortex_channel_pool_add); resolves how many opened. */
  async add(n = 1, userData?: unknown): Promise<number> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('add() needs a non-negative integer');
    let added = 0;
    for (let i = 0; i < n && !this.#closed; i++) {
      const ch = await this.#open(userData);
      if (ch === null) break; // as LibVortex: the pool has fewer channels than asked
      this.#channels.push(ch);
      added++;
    }
    return added;
  }

  /** Closes up to `n` ready channels and drops them from the pool (LibVortex vortex_channel_pool_remove); resolves how many went. */
  async remove(n = 1): Promise<number> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('remove() needs a non-negative integer');
    const gone = this.#live()
      .filter((c) => this.isReady(c))
      .slice(0, n);
    this.#channels = this.#channels.filter((c) => !gone.includes(c));
    await Promise.all(gone.map((c) => c.close()));
    return gone.length;
  }

  /** Adds an open channel of the same connection (LibVortex vortex_channel_pool_attach); false when it cannot join. */
  attach(channel: Channel): boolean {
    if (channel.conn !== this.conn || this.#closed || this.#channels.includes(channel) || channel.state.state === 'closed') return false;
    this.#channels.push(channel);
    return true;
  }

  /** Takes a channel out of the pool without closing it (LibVortex vortex_channel_pool_deattach); false when it was not in it. */
  detach(channel: Channel): boolean {
    const before = this.#channels.length;
    this.#channels = this.#channels.filter((c) => c !== channel);
    this.#busy.delete(channel);
    return this.#channels.length !== before;
  }

  /**
   * Closes the pool (LibVortex vortex_channel_pool_close): ready channels are closed, busy ones
   * are left to their users, and conn.pool(id) forgets it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.conn.get(POOLS)?.byId.delete(this.id);
    const ready = this.#live().filter((c) => this.isReady(c));
    this.#channels = [];
    this.#busy.clear();
    await Promise.all(ready.map((c) => c.close()));
  }

  /** Channels still open; closed ones leave the pool (LibVortex detaches a channel as it is freed). */
  #live(): Channel[] {
    if (this.#channels.some((c) => c.state.state === 'closed')) {
      this.#channels = this.#channels.filter((c) => {
        if (c.state.state !== 'closed') return true;
        this.#busy.delete(c);
        return false;
      });
    }
    return this.#channels;
  }

  async #open(userData: unknown): Promise<Channel | null> {
    const o = this.#opts;
    if (o.createChannel !== undefined) return o.createChannel(this.conn, this.profile, userData);
    return this.conn.openChannel(0, this.profile, {
      ...o.open,
      ...(o.frameReceived === undefined ? {} : { frameReceived: o.frameReceived }),
    });
  }
}

/**
 * Creates a pool on `conn` and opens `initCount` channels in it (PyVortex
 * conn.channel_pool_new); fewer when opens fail, the reasons in conn.popChannelError().
 */
export async function channelPoolNew(
  conn: Connection,
  profile: string,
  initCount: number,
  opts: ChannelPoolOptions = {},
): Promise<ChannelPool> {
  if (typeof profile !== 'string' || profile.length === 0) throw new TypeError('a channel pool needs a profile URI');
  if (!Number.isInteger(initCount) || initCount < 1) throw new RangeError('initCount must be a positive integer');
  let pools = conn.get(POOLS);
  if (pools === undefined) conn.set(POOLS, (pools = { next: 1, byId: new Map() }));
  const pool = new ChannelPool(conn, pools.next++, profile, opts);
  pools.byId.set(pool.id, pool);
  await pool.add(initCount);
  return pool;
}

/** A pool of `conn` by id (PyVortex conn.pool); id 1, the first pool made, when none is given. */
export function poolOf(conn: Connection, id = 1): ChannelPool | undefined {
  return conn.get(POOLS)?.byId.get(id);
}
