// Reading a file where the runtime has a file system (Node, Bun and Deno through node:fs),
// loaded lazily like the socket adapters; elsewhere (workerd, a browser) there is none.

/** Reads a UTF-8 text file; rejects with a TypeError where the runtime has no file system. */
export async function readTextFile(path: string): Promise<string> {
  const load = (m: string): Promise<{ readFile(p: string, enc: 'utf8'): Promise<string> }> => import(m);
  let fs: Awaited<ReturnType<typeof load>>;
  try {
    fs = await load('node:fs/promises');
  } catch {
    throw new TypeError(`cannot read "${path.slice(0, 64)}": this runtime has no file system`);
  }
  return fs.readFile(path, 'utf8');
}
