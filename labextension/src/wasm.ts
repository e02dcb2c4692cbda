// The one module that loads the WebAssembly core. `core/` is produced by
// scripts/build-wasm.sh (wasm-bindgen --target web); the bundler ships the .wasm as an
// asset next to the JavaScript and `init()` fetches it from there.
import init, { Core } from './core/parallel_cell_core';

export { Core };

let loading: Promise<void> | null = null;

/** Load and instantiate the wasm module once; later calls share the same promise. */
export function loadCore(): Promise<void> {
  if (!loading) {
    loading = init().then(() => undefined);
  }
  return loading;
}
