/**
 * A store that cannot be opened stops the process with one line naming where and why (`llm-proxy: store ...`),
 * never a silent start without the keys or the spend log.
 */
export class StoreOpenError extends Error {
  override readonly name = "StoreOpenError";

  /** `where` names the store (a file path, a URL without its password); `why` says what failed. */
  constructor(where: string, why: string, cause?: unknown) {
    super(`store ${where}: ${why}`, { cause });
  }
}
