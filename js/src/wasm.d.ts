// A `.wasm` file imported statically is a compiled WebAssembly.Module (Workers, Vercel Edge, bundlers).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "*.wasm?module" {
  const module: WebAssembly.Module;
  export default module;
}
