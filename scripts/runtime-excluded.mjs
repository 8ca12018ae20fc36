// Test files that cannot run under a runtime, with the reason: a reason outside beepwire, or a
// file every test of which needs what beepwire does not offer there (a test here and there:
// test/runtime-limits.ts). They are reported as "skipped: <file> — <reason>", never counted as passed.

const NO_WS_LISTENER =
  'every test needs a WebSocket listener, which beepwire refuses on Deno (src/transport/ws-listen.ts: its node:http dropped upgraded connections)';

/** runtime -> compiled file -> reason. */
export const excluded = {
  bun: {},
  deno: {
    'dist/test/hostile/websocket.test.js': NO_WS_LISTENER,
    'dist/test/transport/port-share.test.js': NO_WS_LISTENER,
  },
};
