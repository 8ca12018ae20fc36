// Types for the three node-forge modules crypto.ts imports one by one (each exports its part of
// the forge namespace); @types/node-forge covers only the package root, and it references
// @types/node.

declare module 'node-forge/lib/md5.js' {
  /** node-forge's byte buffer (bytes as a binary string). */
  export interface ForgeBytes {
    getBytes(): string;
  }
  /** A running MD5. */
  export interface ForgeMd5 {
    update(bytes: string): ForgeMd5;
    digest(): ForgeBytes;
  }
  /** forge.md.md5. */
  const md5: { create(): ForgeMd5 };
  export default md5;
}

declare module 'node-forge/lib/sha1.js' {
  import type { ForgeMd5 } from 'node-forge/lib/md5.js';
  /** forge.md.sha1 (the same running-digest shape as MD5's). */
  const sha1: { create(): ForgeMd5 };
  export default sha1;
}

declare module 'node-forge/lib/hmac.js' {
  import type { ForgeBytes, ForgeMd5 } from 'node-forge/lib/md5.js';
  /** forge.hmac. */
  const hmac: { create(): { start(md: ForgeMd5, key: string): void; update(bytes: string): void; digest(): ForgeBytes } };
  export default hmac;
}
