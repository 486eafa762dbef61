/**
 * Which malloc the proxies run on. glibc's keeps the pages freed inside its main heap: under load, the native
 * buffers Node allocates per write and per Buffer pool slab fragment it, and RSS climbs for tens of thousands of
 * requests although the V8 heap and the bytes malloc has in use stay flat (a leak check sees 1.2–1.3 ×;
 * `malloc_trim(0)` from gdb gives the pages back: 185 → 117 MB). jemalloc returns them, so the bench runs both
 * proxies (gateway and pass-through alike) on it when it is installed, as the Dockerfile does in production:
 * `background_thread` purges without waiting for the next allocation and `dirty_decay_ms:1000` after a second.
 */
import { existsSync } from "node:fs";

/** Debian/Ubuntu's libjemalloc2, then other common places. */
const JEMALLOC_PATHS = [
  "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
  "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
  "/usr/lib64/libjemalloc.so.2",
  "/usr/local/lib/libjemalloc.so.2",
];

/** The same settings as the Dockerfile's. */
export const JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";

export type AllocatorChoice = "auto" | "jemalloc" | "glibc";

export interface Allocator {
  /** What the report prints. */
  readonly description: string;
  /** Extra environment for the proxy processes. */
  readonly env: Readonly<Record<string, string>>;
}

/** The allocator for `choice`; throws when jemalloc is asked for and is not installed. */
export function chooseAllocator(choice: AllocatorChoice): Allocator {
  const library = choice === "glibc" ? undefined : JEMALLOC_PATHS.find((path) => existsSync(path));
  if (library === undefined) {
    if (choice === "jemalloc")
      throw new Error("--allocator jemalloc: libjemalloc.so.2 not found (apt-get install libjemalloc2)");
    return {
      description:
        choice === "glibc"
          ? "glibc malloc"
          : "glibc malloc (libjemalloc2 not installed: the leak target will likely miss)",
      env: {},
    };
  }
  return {
    description: `jemalloc (${library}, MALLOC_CONF=${JEMALLOC_CONF})`,
    env: { LD_PRELOAD: library, MALLOC_CONF: JEMALLOC_CONF },
  };
}
