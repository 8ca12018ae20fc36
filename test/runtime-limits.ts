// What the runtime running the suite cannot do: limits of its platform API, not of beepwire.
// A test that needs one is declared skipped with the reason (never run and reported passed);
// a test whose answer the limit changes asserts the runtime's documented answer instead.
import { test, type TestFn } from 'node:test';
import { runtimeName } from '../src/transport/select.js';

/** Capabilities some runtime lacks. */
export type Capability =
  | 'tls-client-certificate'
  | 'tls-unverified'
  | 'tls-peer-certificate'
  | 'wasm-memory-cap'
  | 'ws-client-tls-in-place'
  | 'ws-client-text-octets'
  | 'wasm-instance-without-codegen'
  | 'ws-listener'
  | 'ws-client-origin'
  | 'ws-receiver'
  | 'ws-own-reader';

/**
 * The ws:// client is the global WHATWG WebSocket everywhere but Node (src/transport/websocket.ts;
 * docs/transports.md, "WHATWG WebSocket"): what that API cannot do.
 */
const WHATWG_CLIENT = {
  'ws-client-tls-in-place':
    'the ws:// client is the WHATWG WebSocket, which cannot start TLS in place (startTls fails with 421; use wss://)',
  'ws-client-text-octets':
    'the ws:// client is the WHATWG WebSocket, which decodes TEXT messages as UTF-8: non-UTF-8 TEXT (LibVortex) fails the connection',
  'ws-client-origin': 'the ws:// client is the WHATWG WebSocket, whose upgrade request headers (Origin among them) the runtime decides',
} as const;

const LIMITS: { [r in ReturnType<typeof runtimeName>]?: { [c in Capability]?: string } } = {
  // src/transport/deno.ts: clients use Deno.startTls (its node:tls client failed 5-15 % of handshakes).
  deno: {
    ...WHATWG_CLIENT,
    // src/transport/ws-listen.ts listenWebSocket.
    'ws-listener':
      'beepwire refuses WebSocket listeners on Deno (its node:http dropped upgraded connections: 1-3 of 4 ws:// matrix scenarios failed)',
    'tls-client-certificate': 'Deno.startTls takes no client certificate',
    'tls-unverified': 'Deno.startTls always verifies the certificate (rejectUnauthorized: false is refused)',
    'tls-peer-certificate': 'Deno.startTls exposes no peer certificate',
    // src/transport/ws-node.ts: the reader takes over the socket the ws package handshook on.
    'ws-own-reader':
      "beepwire's own WebSocket frame reader runs where the ws package does the handshake (Node): on Deno the ws:// client is the WHATWG WebSocket and WebSocket listeners are refused",
  },
  bun: {
    ...WHATWG_CLIENT,
    // test/transport/ws-frame.test.ts reads frames back with the ws package's Receiver.
    'ws-receiver': 'Bun replaces the ws package with its own, whose Receiver class throws "Not supported yet in Bun"',
    // src/transport/ws-node.ts loadWsNode: Bun's own ws answers a subclass of its WebSocket with 500.
    'ws-own-reader':
      "Bun replaces the ws package with its own, which keeps the socket after the handshake: ws reads the frames there, not beepwire's reader",
    'wasm-memory-cap': 'JavaScriptCore has no flag capping WebAssembly memory (V8: --wasm-max-mem-pages)',
    // test/portable/workerd.test.ts emulates workerd with node:vm, codeGeneration { wasm: false }.
    'wasm-instance-without-codegen':
      'JavaScriptCore: a node:vm context with wasm code generation off also refuses new WebAssembly.Instance of an already compiled module, so workerd cannot be emulated (real workerd: npm run test:runtimes)',
  },
};

/** Why this runtime cannot do `cap` (usable as node:test's `skip` option), or false. */
export function lacks(cap: Capability): string | false {
  const why = LIMITS[runtimeName()]?.[cap];
  return why === undefined ? false : `${runtimeName()}: ${why}`;
}

/**
 * node:test's test(), declared skipped where this runtime lacks `cap` (false: needs nothing special). The reason is also
 * printed ("# runtime skip: name — reason"): Bun's and Deno's runners do not show skip reasons,
 * scripts/run-tests-runtime.mjs collects these lines.
 */
export function testNeeding(cap: Capability | false, name: string, fn: TestFn): void {
  const why = cap === false ? false : lacks(cap);
  if (why !== false) console.log(`# runtime skip: ${name} — ${why}`);
  test(name, { skip: why }, fn);
}
