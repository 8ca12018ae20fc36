// Command-line arguments under Node, Bun and Deno alike (the suite's entry points are portable).

/** The script's arguments, without the runtime and script path. */
export function scriptArgs(): string[] {
  const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
  return g.Deno?.args ?? g.process?.argv.slice(2) ?? [];
}

/** Decodes the base64 JSON argument the matrix driver passes. */
export function decodeArg<T>(b64: string): T {
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)))) as T;
}
