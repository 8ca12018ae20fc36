// The WebAssembly JS API (https://webassembly.github.io/spec/js-api/) as far as beepwire uses
// it. TypeScript ships these declarations only in its `dom` lib, and @types/node 20 has none;
// the Node build compiles without `dom` (no document/window pretending to exist), so the few
// members used here are declared once, following lib.dom.d.ts.
declare global {
  /** Bytes a WebAssembly module is compiled from. */
  type BufferSource = ArrayBufferView | ArrayBuffer;

  namespace WebAssembly {
    /** A compiled module. */
    interface Module {}
    /** An instance of a module with its exports. */
    interface Instance {
      /** The instance's exports. */
      readonly exports: Exports;
    }
    /** A linear memory. */
    interface Memory {
      /** The memory's current buffer (detached by grow). */
      readonly buffer: ArrayBuffer;
      /** Grows by `delta` pages; returns the previous size in pages. */
      grow(delta: number): number;
    }
    /** A global value. */
    interface Global {
      /** The global's value. */
      value: unknown;
    }
    /** Limits of a new memory, in 64 KiB pages. */
    interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
    /** Type and mutability of a new global. */
    interface GlobalDescriptor { value: 'i32' | 'i64' | 'f32' | 'f64' | 'externref' | 'anyfunc'; mutable?: boolean }
    /** What an instance exports. */
    type Exports = Record<string, unknown>;
    /** What an instance imports. */
    type Imports = Record<string, Record<string, unknown>>;
    /** A trap at run time. */
    interface RuntimeError extends Error {}
    /** An import or export of a module, as Module.imports/exports list them. */
    interface ModuleDescriptor { name: string; kind: 'function' | 'table' | 'memory' | 'global' | 'tag' }
    /** An import of a module. */
    interface ModuleImportDescriptor extends ModuleDescriptor { module: string }

    const Module: {
      prototype: Module;
      new (bytes: BufferSource): Module;
      /** The module's exports. */
      exports(module: Module): ModuleDescriptor[];
      /** The module's imports. */
      imports(module: Module): ModuleImportDescriptor[];
    };
    const Instance: { prototype: Instance; new (module: Module, importObject?: Imports): Instance };
    const Memory: { prototype: Memory; new (descriptor: MemoryDescriptor): Memory };
    const Global: { prototype: Global; new (descriptor: GlobalDescriptor, value?: unknown): Global };
    const RuntimeError: { prototype: RuntimeError; new (message?: string): RuntimeError };
    /** Compiles and instantiates bytes, or instantiates a compiled module. */
    function instantiate(bytes: BufferSource, importObject?: Imports): Promise<{ module: Module; instance: Instance }>;
    function instantiate(module: Module, importObject?: Imports): Promise<Instance>;
    /** Compiles bytes. */
    function compile(bytes: BufferSource): Promise<Module>;
    /** True when the bytes are a valid module. */
    function validate(bytes: BufferSource): boolean;
  }
}
export {};
