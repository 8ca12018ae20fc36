// The cross-runtime suite (issue 10): what every runtime must do as a BEEP client and, where it
// can listen, as a listener. Portable: beepwire's public API and Web globals only, so the same
// code runs under Node, Bun, Deno and workerd (bundled into a Worker). The WS_SCENARIOS run the
// same client over BEEP over WebSocket (ws://) against a listener with `websocket: true` (Node).
import {
  Ctx,
  Connection,
  registerProfile,
  createListener,
  tls,
  sasl,
  alive,
  WebSocketTransport,
  type Listener,
  type ListenerOptions,
} from '../../src/index.js';

/** Profile every listener of the suite echoes on. */
export const ECHO = 'urn:beepwire:test:echo';
/** Credentials the suite's listeners accept. */
export const USER = { authId: 'alice', password: 'wonderland' };

/** What a runtime is given: the CA and the listener's certificate (PEM). */
export interface MatrixConfig {
  /** CA certificate that signed the listener's certificate; unset where the runtime's own trust store is configured with it (workerd). */
  ca?: string | undefined;
  /** Listener certificate (CN/SAN 127.0.0.1 and localhost). */
  cert: string;
  /** Listener key. */
  key: string;
}

/** One scenario's outcome. */
export interface Outcome {
  /** Scenario name. */
  name: string;
  /** Passed. */
  ok: boolean;
  /** Why not, or a short note. */
  detail: string;
  /** Milliseconds taken. */
  ms: number;
}

/** Names of the client scenarios, in the order they run. */
export const SCENARIOS = [
  'echo 64 B',
  'echo 8 MiB',
  'TLS upgrade + echo',
  'SASL SCRAM-SHA-256 over TLS',
  'SASL PLAIN over TLS',
  'ALIVE',
] as const;

/**
 * Names of the client scenarios over ws:// (the runtime's WebSocket: `ws` on Node, the global
 * WHATWG one elsewhere), in the order they run. No TLS profile: the WHATWG API has no in-place
 * upgrade (wss:// would be the way), so SASL runs in clear.
 */
export const WS_SCENARIOS = ['ws echo 64 B', 'ws echo 8 MiB', 'ws SASL SCRAM-SHA-256', 'ws ALIVE'] as const;

/** A payload whose octets depend on their position, so a reordered or truncated echo is caught. */
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 11)) & 0xff;
  return b;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function errors(conn: Connection): string {
  const out: string[] = [];
  for (let e = conn.popChannelError(); e; e = conn.popChannelError()) out.push(`${e[0]} ${e[1]}`);
  return out.join('; ') || 'no error recorded';
}

async function connect(host: string, port: number): Promise<Connection> {
  const conn = await Connection.connect(new Ctx(), host, port);
  if (!conn.isOk()) throw new Error(`connect: ${errors(conn)}`);
  return conn;
}

/** The WebSocket implementation a ws:// connection runs on, as the detail of an outcome. */
function wsKind(conn: Connection): string {
  return conn.transport instanceof WebSocketTransport ? 'WHATWG WebSocket' : '`ws` package';
}

async function connectWs(host: string, port: number): Promise<Connection> {
  const conn = await Connection.connect(new Ctx(), `ws://${host}:${port}/beep`);
  if (!conn.isOk()) throw new Error(`connect ws://: ${errors(conn)}`);
  return conn;
}

async function checkAlive(conn: Connection): Promise<number> {
  const check = alive.enableCheck(conn, { checkPeriod: 50, maxUnreplyCount: 4 });
  for (let i = 0; i < 100 && check.replied < 5; i++) await new Promise((r) => setTimeout(r, 20));
  check.stop();
  if (check.failed || check.replied < 5)
    throw new Error(`${check.replied} of ${check.sent} pings answered${check.failed ? ', check failed' : ''}`);
  return check.replied;
}

async function echo(conn: Connection, payload: Uint8Array): Promise<void> {
  const ch = await conn.openChannel(0, ECHO);
  if (ch === null) throw new Error(`open echo channel: ${errors(conn)}`);
  const reply = await ch.request(payload, { timeout: 30_000 });
  if (!same(reply.payload, payload))
    throw new Error(`echo of ${payload.length} octets came back as ${reply.payload.length} different octets`);
}

async function withTls(host: string, port: number, cfg: MatrixConfig): Promise<Connection> {
  const conn = await connect(host, port);
  // The certificate names 127.0.0.1 (IP SAN) and localhost; SNI is only sent for names.
  if (!(await tls.startTls(conn, cfg.ca === undefined ? {} : { ca: cfg.ca }))) throw new Error(`startTls: ${errors(conn)}`);
  if (!tls.isEnabled(conn)) throw new Error('startTls resolved true but TLS is not enabled');
  return conn;
}

/** One TLS round: connect, TLS upgrade, a 64-octet echo, close (the Deno TLS loop repeats it). */
export async function tlsRound(host: string, port: number, cfg: MatrixConfig): Promise<void> {
  const conn = await withTls(host, port, cfg);
  await echo(conn, pattern(64));
  if (!(await conn.close())) throw new Error(`release failed: ${errors(conn)}`);
}

const client: Record<(typeof SCENARIOS)[number], (host: string, port: number, cfg: MatrixConfig) => Promise<string>> = {
  'echo 64 B': async (host, port) => {
    const conn = await connect(host, port);
    await echo(conn, pattern(64));
    return (await conn.close()) ? 'released' : `release failed: ${errors(conn)}`;
  },
  'echo 8 MiB': async (host, port) => {
    const conn = await connect(host, port);
    await echo(conn, pattern(8 << 20));
    await conn.close();
    return '8,388,608 octets echoed intact';
  },
  'TLS upgrade + echo': async (host, port, cfg) => {
    const conn = await withTls(host, port, cfg);
    await echo(conn, pattern(65536));
    await conn.close();
    return `TLS ${conn.tls?.protocol ?? '(protocol not exposed)'}`;
  },
  'SASL SCRAM-SHA-256 over TLS': async (host, port, cfg) => {
    const conn = await withTls(host, port, cfg);
    if (!(await sasl.startAuth(conn, sasl.SCRAM_SHA_256, USER))) throw new Error(`auth: ${errors(conn)}`);
    if (sasl.authId(conn) !== USER.authId) throw new Error(`authenticated as ${sasl.authId(conn)}`);
    await echo(conn, pattern(64));
    await conn.close();
    return `authenticated as ${USER.authId}`;
  },
  'SASL PLAIN over TLS': async (host, port, cfg) => {
    const conn = await withTls(host, port, cfg);
    if (!(await sasl.startAuth(conn, sasl.PLAIN, USER))) throw new Error(`auth: ${errors(conn)}`);
    if (!sasl.isAuthenticated(conn)) throw new Error('not authenticated');
    await conn.close();
    return `authenticated as ${USER.authId}`;
  },
  ALIVE: async (host, port) => {
    const conn = await connect(host, port);
    const replied = await checkAlive(conn);
    await conn.close();
    return `${replied} pings answered`;
  },
};

const wsClient: Record<(typeof WS_SCENARIOS)[number], (host: string, port: number) => Promise<string>> = {
  'ws echo 64 B': async (host, port) => {
    const conn = await connectWs(host, port);
    await echo(conn, pattern(64));
    return (await conn.close()) ? `released (${wsKind(conn)})` : `release failed: ${errors(conn)}`;
  },
  'ws echo 8 MiB': async (host, port) => {
    const conn = await connectWs(host, port);
    await echo(conn, pattern(8 << 20));
    await conn.close();
    return `8,388,608 octets echoed intact (${wsKind(conn)})`;
  },
  'ws SASL SCRAM-SHA-256': async (host, port) => {
    const conn = await connectWs(host, port);
    if (!(await sasl.startAuth(conn, sasl.SCRAM_SHA_256, USER))) throw new Error(`auth: ${errors(conn)}`);
    if (sasl.authId(conn) !== USER.authId) throw new Error(`authenticated as ${sasl.authId(conn)}`);
    await echo(conn, pattern(64));
    await conn.close();
    return `authenticated as ${USER.authId} (${wsKind(conn)})`;
  },
  'ws ALIVE': async (host, port) => {
    const conn = await connectWs(host, port);
    const replied = await checkAlive(conn);
    await conn.close();
    return `${replied} pings answered (${wsKind(conn)})`;
  },
};

/** Runs each named scenario in turn; a failure is an outcome, never a throw. */
async function runAll<N extends string>(names: readonly N[], run: (name: N) => Promise<string>): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const name of names) {
    const t0 = Date.now();
    try {
      const detail = await run(name);
      out.push({ name, ok: true, detail, ms: Date.now() - t0 });
    } catch (e) {
      out.push({ name, ok: false, detail: (e as Error)?.message ?? String(e), ms: Date.now() - t0 });
    }
  }
  return out;
}

/** Runs every client scenario against host:port. */
export function runClient(host: string, port: number, cfg: MatrixConfig): Promise<Outcome[]> {
  return runAll(SCENARIOS, (name) => client[name](host, port, cfg));
}

/** Runs every ws:// client scenario against ws://host:port/beep. */
export function runWsClient(host: string, port: number): Promise<Outcome[]> {
  return runAll(WS_SCENARIOS, (name) => wsClient[name](host, port));
}

/**
 * Starts the suite's listener: echo, TLS, SASL SCRAM-SHA-256 and PLAIN, ALIVE. `opts` go to
 * createListener (`{ websocket: true }`: the ws:// listener of WS_SCENARIOS: Node, Bun).
 */
export async function startListener(host: string, port: number, cfg: MatrixConfig, opts: ListenerOptions = {}): Promise<Listener> {
  const ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    start: () => ({ maxMessage: 16 << 20 }),
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  tls.acceptTls(ctx, { certHandler: () => cfg.cert, keyHandler: () => cfg.key });
  const password = (_c: Connection, p: { authId?: string; password?: string }): string | boolean | null =>
    p.authId === USER.authId ? (p.password === undefined ? USER.password : p.password === USER.password) : null;
  sasl.acceptMech(ctx, sasl.SCRAM_SHA_256, password);
  sasl.acceptMech(ctx, sasl.PLAIN, password);
  alive.init(ctx);
  return createListener(ctx, host, port, opts);
}
