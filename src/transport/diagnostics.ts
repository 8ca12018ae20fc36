// node:diagnostics_channel where the runtime has one, loaded synchronously when this module is
// evaluated, through process.getBuiltinModule (Node >= 20.16 and 22.3, Bun, Deno 2, workerd
// with nodejs_compat). A synchronous load means a subscriber sees every event from the first
// one: an asynchronous import() would miss whatever happens before it settles, silently.
// Where getBuiltinModule is absent (a browser, workerd without nodejs_compat, an older Node)
// nothing is published and the Ctx logger is the way to see events. No import names the
// module, so bundles for the Web never reference it.

/** The part of a diagnostics_channel Channel we use. */
export interface DiagnosticsChannel {
  /** True while someone subscribes: events are built only then. */
  readonly hasSubscribers: boolean;
  /** Hands `message` to every subscriber. */
  publish(message: unknown): void;
}

/** A runtime's Channel: `hasSubscribers` a getter (Node, Bun, Deno) or a method (workerd 1.20261117.1). */
interface RuntimeChannel {
  readonly hasSubscribers: boolean | (() => boolean);
  publish(message: unknown): void;
}

/** The part of node:diagnostics_channel we use. */
interface DiagnosticsModule {
  channel(name: string): RuntimeChannel;
}

/** The part of `process` we use. */
interface ProcessWithBuiltins {
  getBuiltinModule?: (id: string) => unknown;
}

/** A workerd Channel seen through Node's shape. */
class MethodChannel implements DiagnosticsChannel {
  readonly #ch: RuntimeChannel & { hasSubscribers(): boolean };
  constructor(ch: RuntimeChannel & { hasSubscribers(): boolean }) {
    this.#ch = ch;
  }
  get hasSubscribers(): boolean {
    return this.#ch.hasSubscribers();
  }
  publish(message: unknown): void {
    this.#ch.publish(message);
  }
}

/**
 * diagnostics_channel from `proc.getBuiltinModule` (the global `process` by default), as a
 * function from a channel name to a channel; undefined where there is none.
 */
export function diagnosticsFrom(proc: unknown): ((name: string) => DiagnosticsChannel) | undefined {
  let m: Partial<DiagnosticsModule> | undefined;
  try {
    const p = proc as ProcessWithBuiltins | undefined;
    if (typeof p?.getBuiltinModule !== 'function') return undefined;
    m = p.getBuiltinModule('node:diagnostics_channel') as Partial<DiagnosticsModule> | undefined;
  } catch {
    return undefined; // a runtime whose getBuiltinModule refuses the module: no publishing
  }
  if (typeof m?.channel !== 'function') return undefined;
  const mod = m as DiagnosticsModule;
  return (name) => {
    const ch = mod.channel(name);
    return typeof ch.hasSubscribers === 'function'
      ? new MethodChannel(ch as RuntimeChannel & { hasSubscribers(): boolean })
      : (ch as DiagnosticsChannel);
  };
}

const channelOf = diagnosticsFrom((globalThis as { process?: unknown }).process);

/** True where diagnostics_channel is available to beepwire. */
export const diagnosticsAvailable: boolean = channelOf !== undefined;

/** The named diagnostics channel, or undefined where the runtime has none. */
export function diagnosticsChannel(name: string): DiagnosticsChannel | undefined {
  return channelOf?.(name);
}
