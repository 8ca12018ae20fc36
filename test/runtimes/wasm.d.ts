// A .wasm import is a compiled WebAssembly.Module in workerd (and in bundlers that follow it).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
