/**
 * Reload when the config file changes. The directory is watched rather than the file, because editors save by
 * writing a new file and renaming it over the old one, and Kubernetes updates a mounted ConfigMap by swapping a
 * `..data` symlink: both replace the inode a file watch would follow. Every event in the directory (debounced)
 * leads to a read of the file, and a reload only when its bytes changed since the last look and then stayed the
 * same for a settle time: a writer that pauses mid-file (a slow copy, a script writing in pieces) must not have
 * its first half served. The reload is given the exact bytes that settled, not a fresh read.
 */
import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyBaseLogger } from "fastify";

/** How long to wait after the last event before looking: a save is often several events. */
export const DEFAULT_WATCH_DEBOUNCE_MS = 300;
/** How long the changed file must stay byte for byte the same before it is acted on. */
export const DEFAULT_WATCH_SETTLE_MS = 500;

/** A running watch. */
export interface ConfigWatch {
  close(): void;
}

/** Options of watchConfigFile. */
export interface WatchOptions {
  readonly log: FastifyBaseLogger;
  readonly debounceMs?: number;
  readonly settleMs?: number;
}

/** Watches `path`; calls `onChange` with the new content once it changed and settled. */
export async function watchConfigFile(
  path: string,
  onChange: (content: string) => Promise<unknown>,
  options: WatchOptions,
): Promise<ConfigWatch> {
  const debounceMs = options.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
  const settleMs = options.settleMs ?? DEFAULT_WATCH_SETTLE_MS;
  let lastDigest = (await snapshotOf(path))?.digest;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<void> = Promise.resolve();

  const look = async (): Promise<void> => {
    const first = await snapshotOf(path);
    // A missing file is a moment in a rename, or a mistake the next save fixes: never a reason to reload.
    if (closed || first === undefined || first.digest === lastDigest) return;
    await sleep(settleMs, undefined, { ref: false });
    const settled = await snapshotOf(path);
    if (closed || settled === undefined) return;
    if (settled.digest !== first.digest) {
      options.log.debug({ path }, "config watch: the file is still being written; waiting for it to settle");
      schedule();
      return;
    }
    lastDigest = settled.digest;
    await onChange(settled.text);
  };
  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(look).catch((error: unknown) => {
        options.log.warn({ err: error }, "config watch: could not check the file");
      });
    }, debounceMs);
  };

  // persistent: false, so the watch never keeps the process alive on its own.
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, schedule);
  watcher.on("error", (error) =>
    options.log.warn({ err: error }, "config watch failed; reload with POST /config/reload"),
  );
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}

async function snapshotOf(path: string): Promise<{ digest: string; text: string } | undefined> {
  try {
    const bytes = await readFile(path);
    return { digest: createHash("sha256").update(bytes).digest("hex"), text: bytes.toString("utf8") };
  } catch {
    return undefined;
  }
}
