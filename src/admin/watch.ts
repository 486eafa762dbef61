/**
 * Reload when the config file changes. The directory is watched rather than the file, because editors save by
 * writing a new file and renaming it over the old one, and Kubernetes updates a mounted ConfigMap by swapping a
 * `..data` symlink: both replace the inode a file watch would follow. Every event in the directory (debounced)
 * leads to a read of the file, and a reload only when its bytes changed since the last look.
 */
import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { FastifyBaseLogger } from "fastify";

/** How long to wait after the last event before looking: a save is often several events. */
export const DEFAULT_WATCH_DEBOUNCE_MS = 300;

/** A running watch. */
export interface ConfigWatch {
  close(): void;
}

/** Watches `path`; calls `onChange` after its content changed. */
export async function watchConfigFile(
  path: string,
  onChange: () => Promise<unknown>,
  options: { readonly log: FastifyBaseLogger; readonly debounceMs?: number },
): Promise<ConfigWatch> {
  const debounceMs = options.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
  let lastDigest = await digestOf(path);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<void> = Promise.resolve();

  const look = async (): Promise<void> => {
    const digest = await digestOf(path);
    // A missing file is a moment in a rename, or a mistake the next save fixes: never a reason to reload.
    if (closed || digest === undefined || digest === lastDigest) return;
    lastDigest = digest;
    await onChange();
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

async function digestOf(path: string): Promise<string | undefined> {
  try {
    return createHash("sha256")
      .update(await readFile(path))
      .digest("hex");
  } catch {
    return undefined;
  }
}
