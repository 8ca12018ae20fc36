// Types of `import wasm from 'beepwire/codec.wasm'`: workerd (and wrangler, or a bundler with a
// wasm-module loader) gives the compiled module, which `loadCodec(wasm)` from 'beepwire/codec'
// takes (workerd compiles no wasm from bytes, so the embedded build cannot be used there).

/** The release codec, compiled by the runtime from build/codec.wasm. */
declare const codec: WebAssembly.Module;
export default codec;
