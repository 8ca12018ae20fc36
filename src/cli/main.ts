#!/usr/bin/env node
// The `beepwire` command: listen, ping, cert (commander parses the arguments).
import { Command, Option } from 'commander';
import { listen } from './listen.js';
import { ping } from './ping.js';
import { cert } from './cert.js';
import { bench } from './bench.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const int =
  (name: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
    return n;
  };

const program = new Command('beepwire').description('BEEP (RFC 3080/3081) listener, ping and test certificates').showHelpAfterError();

program
  .command('listen')
  .description('run a BEEP listener with echo and sink profiles')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <port>', 'port (0: any free one)', int('--port'), 10288)
  .option('--profile <name>', 'echo, sink or a profile URI (served as echo); repeatable', collect, [])
  .option('--tls', 'offer TLS (certificate generated unless --cert/--key)', false)
  .option('--cert <file>', 'TLS certificate (PEM)')
  .option('--key <file>', 'TLS key (PEM)')
  .option(
    '--sasl <mech>',
    'offer a SASL mechanism (PLAIN, SCRAM-SHA-256, CRAM-MD5, DIGEST-MD5, ANONYMOUS, OTP), by name or profile URI; repeatable',
    collect,
    [],
  )
  .option('--user <name:password>', 'the SASL user (default beepwire:beepwire)')
  .option('--users <file>', 'SASL users, one NAME:PASSWORD per line')
  .option('--ws', 'also take BEEP over WebSocket (ws://) on the same port', false)
  .option('--log', "also print the engine's events (refusals, session errors, TLS/SASL outcomes)", false)
  .option('--json', 'JSON lines', false)
  .action(async (o) => {
    process.exitCode = await listen({ ...o, profile: o.profile.length > 0 ? o.profile : ['echo', 'sink'] });
  });

program
  .command('ping')
  .description('connect, start a profile, time round trips, close')
  .argument('<target>', 'HOST:PORT, or ws://HOST:PORT/ (BEEP over WebSocket)')
  .option('--profile <name>', 'echo, sink or a profile URI', 'echo')
  .option('--count <n>', 'round trips', int('--count'), 10)
  .option('--size <octets>', 'octets per message', int('--size'), 64)
  .option('--tls', 'start TLS first', false)
  .option('--ca <file>', 'CA (PEM) that verifies the listener')
  .option('--insecure', 'do not verify the listener certificate', false)
  .option('--sasl <mech>', 'authenticate with this SASL mechanism')
  .option('--user <name:password>', 'SASL credentials (default beepwire:beepwire)')
  .addOption(new Option('--timeout <ms>', 'limit per step').argParser(int('--timeout')).default(10_000))
  .option('--log', "also print the engine's events (refusals, session errors, TLS/SASL outcomes)", false)
  .option('--json', 'JSON lines', false)
  .action(async (target: string, o) => {
    process.exitCode = await ping(target, o);
  });

program
  .command('bench')
  .description('echo load against any BEEP listener: msgs/s, MB/s, RTT per message size')
  .argument('<target>', 'HOST:PORT, or ws://HOST:PORT/')
  .option('--profile <name>', 'echo, sink or the URI of any echoing profile', 'echo')
  .option('--size <octets>', 'message size; repeatable', (v: string, prev: number[]) => [...prev, int('--size')(v)], [] as number[])
  .option('--seconds <n>', 'seconds per size', int('--seconds'), 3)
  .option('--inflight <n>', 'messages in flight per channel', int('--inflight'), 64)
  .option('--channels <n>', 'channels', int('--channels'), 1)
  .option('--svg <file>', 'write an SVG chart')
  .option('--json', 'JSON lines', false)
  .action(async (target: string, o) => {
    process.exitCode = await bench(target, { ...o, size: o.size.length > 0 ? o.size : [64, 4096, 65536] });
  });

program
  .command('cert')
  .description('write a test CA and a leaf certificate (PEM)')
  .option('--out <dir>', 'output directory', '.')
  .option('--cn <name>', 'leaf common name', 'localhost')
  .option('--dns <name>', 'DNS name of the leaf; repeatable', collect, [])
  .option('--ip <address>', 'IP address of the leaf; repeatable', collect, ['127.0.0.1'])
  .option('--days <n>', 'validity', int('--days'), 365)
  .option('--json', 'JSON', false)
  .action((o) => {
    process.exitCode = cert(o);
  });

try {
  await program.parseAsync();
} catch (e) {
  console.error((e as Error)?.message ?? String(e));
  process.exitCode = 2;
}
