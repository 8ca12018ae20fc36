// Diagnostic events as text lines (PyVortex ctx.log / ctx.color_log): opt-in, through
// ctx.setLogger(consoleLogger()) or CtxOptions.logger.
import { eventRecord, type BeepEvent, type BeepEventType, type ErrorRecord, type Logger } from './events.js';

/** Options of consoleLogger. */
export interface ConsoleLoggerOptions {
  /** ANSI colours: failures red, successes green (PyVortex ctx.color_log; default false). */
  color?: boolean;
  /** Where each line goes (default console.error: stdout stays the application's). */
  write?: (line: string) => void;
  /** Only these event types (default: every one). */
  types?: readonly BeepEventType[];
  /** Start each line with the time of day, HH:MM:SS.mmm (default true). */
  time?: boolean;
}

const RED = '\x1b[31m',
  GREEN = '\x1b[32m',
  YELLOW = '\x1b[33m',
  DIM = '\x1b[2m',
  RESET = '\x1b[0m';

/** Colour of an event: red for failures, yellow for refusals, green for successes, dim otherwise. */
function colourOf(e: BeepEvent): string {
  switch (e.type) {
    case 'session:error':
    case 'handler:error':
    case 'tls:fail':
    case 'sasl:fail':
    case 'listener:error':
      return RED;
    case 'channel:refused':
    case 'listener:refused':
      return YELLOW;
    case 'connection:close':
      return e.error === undefined ? DIM : RED;
    case 'tls:ok':
      return e.verified ? GREEN : YELLOW;
    case 'channel:close':
      return DIM;
    default:
      return GREEN;
  }
}

/**
 * What a peer must not get onto a terminal raw (it chooses profile URIs, identities, error
 * texts): control characters (C0 with tab, DEL, C1: 0x9b is a CSI), format characters (bidi
 * controls that reorder what the reader sees, zero-width ones that make "admin\u200b" look like
 * "admin"), lone surrogates, and the line and paragraph separators.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
/** A string printed as is: nothing of UNSAFE, and nothing a reader would take for a separator, quote or escape. */
const PLAIN = /^[^\s"=\\\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]+$/u;

/** `text` with each character of UNSAFE written as a visible `\uXXXX` escape (log lines show what a peer sent, never run it); JSON stays valid JSON. */
export function escapeControls(text: string): string {
  // One \uXXXX per UTF-16 unit (a surrogate pair for a character above U+FFFF): valid inside
  // a JSON string too, so JSON lines can go through it.
  let out = '';
  let last = 0;
  for (const m of text.matchAll(UNSAFE)) {
    out += text.slice(last, m.index);
    for (let i = 0; i < m[0].length; i++) out += `\\u${m[0].charCodeAt(i).toString(16).padStart(4, '0')}`;
    last = m.index + m[0].length;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** A string in double quotes, JSON escapes, and what JSON leaves raw of UNSAFE (DEL, C1, format characters) escaped too. */
const quoted = (s: string): string => escapeControls(JSON.stringify(s));
/** A string as is when PLAIN, else quoted. */
const str = (s: string): string => (PLAIN.test(s) ? s : quoted(s));

function value(v: string | number | boolean | string[] | ErrorRecord): string {
  if (typeof v === 'object' && !Array.isArray(v))
    return `${str(v.name)}${v.code === undefined ? '' : `[${str(v.code)}]`}: ${quoted(v.message)}`;
  if (Array.isArray(v)) return v.map(str).join(',');
  if (typeof v === 'string') return str(v);
  return String(v);
}

/** One line for an event: `beepwire <type> conn=3 key=value …` (no colour, no time). */
export function formatEvent(e: BeepEvent): string {
  const parts = [`beepwire ${e.type}`];
  for (const [k, v] of Object.entries(eventRecord(e))) {
    if (k === 'type' || v === undefined) continue;
    parts.push(`${k}=${value(v)}`);
  }
  return parts.join(' ');
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** A logger that prints each event as a line (PyVortex ctx.log; with `color`, ctx.color_log). */
export function consoleLogger(opts: ConsoleLoggerOptions = {}): Logger {
  const write = opts.write ?? ((line: string) => console.error(line));
  const only = opts.types === undefined ? undefined : new Set(opts.types);
  const time = opts.time ?? true;
  return (e) => {
    if (only !== undefined && !only.has(e.type)) return;
    let line = formatEvent(e);
    if (opts.color === true) line = `${colourOf(e)}${line}${RESET}`;
    if (time) {
      const d = new Date();
      line = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)} ${line}`;
    }
    write(line);
  };
}
