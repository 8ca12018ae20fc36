// Types for the node-forge modules that crypto.ts imports one by one (lib/forge.js is the
// namespace that lib/md5.js and lib/hmac.js register into); @types/node-forge covers only the
// package root, and it references @types/node.
declare module 'node-forge/lib/forge.js' {
  /** node-forge's byte buffer (bytes as a binary string). */
  interface ByteStringBuffer { getBytes(): string }
  /** A running digest. */
  interface Digest { update(bytes: string): Digest; digest(): ByteStringBuffer }
  /** A running HMAC. */
  interface Hmac { start(md: 'md5', key: string): void; update(bytes: string): void; digest(): ByteStringBuffer }
  /** The parts of the forge namespace that md5.js and hmac.js fill in. */
  const forge: { md: { md5: { create(): Digest } }; hmac: { create(): Hmac } };
  export default forge;
}
declare module 'node-forge/lib/md5.js';
declare module 'node-forge/lib/hmac.js';
