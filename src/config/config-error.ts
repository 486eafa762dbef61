/** A config file that cannot be used, with every problem located by its YAML path. */

/** One problem: `path` is the dotted YAML path (e.g. `providers.openai.base_url`), empty for the file. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** Thrown by loadConfig; its message lists every issue, one per line. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => `  ${issue.path === "" ? "(file)" : issue.path}: ${issue.message}`);
    super(`invalid config ${source}:\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}
