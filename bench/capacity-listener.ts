// Capacity benchmark, listener process: one beepwire listener (or a bare node:net server for
// the baseline) on 127.0.0.1, driven over IPC by capacity.bench.js. Deliberately installs no
// 'uncaughtException' handler and no server 'error' handler of its own: whether the listener
// survives EMFILE is what is measured. Server 'error' emissions are observed (not handled)
// by wrapping EventEmitter#emit on net.Server.
import { createServer, Server, type Socket } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { Ctx, registerProfile, createListener, type Listener, type Connection } from '../src/index.js';
import { loadCodec } from '../src/codec/index.js';
import { ECHO_PROFILE, readMemory, serve, emit, countFds, fdLimit } from './capacity-common.js';

let mode: 'beep' | 'bare' = 'beep';
let accepted = 0; // connections handed to the application
let greeted = 0; // live sessions past the greeting exchange (bare: live sockets)
let closed = 0;
const closeReasons = new Map<string, number>();
const serverErrors: string[] = [];
let serverErrorCount = 0;
let listener: Listener | undefined;
let bare: Server | undefined;
const bareSockets = new Set<Socket>();

// Observe every 'error' a net.Server emits (EMFILE on accept) without handling it.
const origEmit = Server.prototype.emit;
Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'error') {
    serverErrorCount++;
    const e = args[0] as NodeJS.ErrnoException;
    if (serverErrors.length < 5)
      serverErrors.push(`${e?.code ?? ''} ${e?.syscall ?? ''} ${e?.message ?? String(e)} (listeners: ${this.listenerCount('error')})`);
    emit('server-error', { code: e?.code, message: e?.message, listeners: this.listenerCount('error') });
  }
  return (origEmit as (this: Server, e: string | symbol, ...a: unknown[]) => boolean).call(this, event, ...args);
} as typeof Server.prototype.emit;

function reason(err?: Error): string {
  if (err === undefined) return 'released';
  const e = err as Error & { code?: string };
  return e.code ?? e.message.slice(0, 60);
}

async function start(req: { mode: 'beep' | 'bare'; codec: 'wasm' | 'ref' }): Promise<Record<string, unknown>> {
  mode = req.mode;
  if (mode === 'bare') {
    bare = createServer({ noDelay: true }, (s) => {
      accepted++;
      bareSockets.add(s);
      greeted++;
      s.on('data', () => {
        /* idle: nothing expected */
      });
      s.on('error', () => {
        /* counted on close */
      });
      s.on('close', () => {
        bareSockets.delete(s);
        greeted--;
        closed++;
      });
      s.write('hi\n'); // the client counts a socket once this arrives (as a greeting)
    });
    bare.on('error', (e) => {
      serverErrors.push(String(e));
    });
    await new Promise<void>((res) => bare!.listen(0, '127.0.0.1', 4096, () => res()));
    const a = bare.address();
    return { port: typeof a === 'object' && a !== null ? a.port : 0, fds: countFds(), fdLimit: fdLimit() };
  }
  if (req.codec === 'wasm') loadCodec(); // instantiate before the baseline reading
  const ctx = new Ctx({ codec: req.codec });
  ctx.init();
  registerProfile(ctx, ECHO_PROFILE, {
    frameReceived: (_conn, channel, frame) => {
      if (frame.type === 'MSG') channel.sendRpy(frame.payload, frame.payloadSize, frame.msgNo);
    },
  });
  listener = await createListener(ctx, '127.0.0.1', 0, {
    maxConnections: 1_000_000,
    onAccept: (conn: Connection) => {
      accepted++;
      let wasGreeted = false;
      conn.session.mgmt.ready.then(
        () => {
          if (!conn.session.ended) {
            wasGreeted = true;
            greeted++;
          }
        },
        () => {
          /* counted on close */
        },
      );
      conn.setOnClose((_c, err) => {
        if (wasGreeted) greeted--;
        closed++;
        const r = reason(err);
        closeReasons.set(r, (closeReasons.get(r) ?? 0) + 1);
      });
    },
  });
  if (!listener.isOk()) throw new Error(`listen failed: ${listener.errorMsg}`);
  return { port: listener.port, fds: countFds(), fdLimit: fdLimit() };
}

function stats(): Record<string, unknown> {
  return {
    mode,
    accepted,
    greeted,
    closed,
    live: mode === 'bare' ? bareSockets.size : (listener?.connections.size ?? 0),
    closeReasons: Object.fromEntries(closeReasons),
    serverErrorCount,
    serverErrors,
    listenerOk: mode === 'bare' ? true : (listener?.isOk() ?? false),
    listenerErrorMsg: listener?.errorMsg ?? '',
    fds: countFds(),
  };
}

serve({
  start: (r) => start(r as unknown as { mode: 'beep' | 'bare'; codec: 'wasm' | 'ref' }),
  stats: () => stats(),
  mem: async (r) => ({ mem: await readMemory(Number(r.settleMs ?? 500)), ...stats() }),
  snapshot: (r) => {
    (globalThis as { gc?: () => void }).gc?.();
    return { file: writeHeapSnapshot(String(r.file)) };
  },
});
