// koffi, loaded lazily (platforms without a prebuilt binary still run everything that does not
// need it), and the one way this project turns a native address into an ArrayBuffer. Shared by the
// packet plane's libc (packet/ffi.ts) and the proxy plane's native sockets (proxy/native/sys.ts).
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

/** The subset of koffi's API used here (koffi ships its own types; this keeps the import lazy). */
export interface Koffi {
  load(path: string | null): { func(...decl: unknown[]): (...args: unknown[]) => unknown };
  proto(decl: string): unknown;
  pointer(t: unknown): unknown;
  register(fn: (...args: unknown[]) => void, type: unknown): unknown;
  errno(): number;
  view(ptr: unknown, len: number): ArrayBuffer;
  /** Reads a C value of `type` from memory (used to turn an address into a pointer object). */
  decode(value: unknown, type: string): unknown;
}

/** koffi itself; throws when it cannot be loaded. */
export function loadKoffi(): Koffi {
  return createRequire(import.meta.url)('koffi') as Koffi;
}

/** An ArrayBuffer over native memory [addr, addr+len) (no copy; valid until unmapped or freed). */
export function nativeView(koffi: Koffi, addr: number, len: number): ArrayBuffer {
  return koffi.view(koffi.decode(new BigInt64Array([BigInt(addr)]), 'void *'), len);
}

/** The symbolic name of an errno value ('EADDRINUSE'), as Node's own errors show it; `errno N` if unknown. */
export function errnoName(e: number): string {
  for (const [name, v] of Object.entries(osConstants.errno)) if (v === e) return name;
  return `errno ${e}`;
}
