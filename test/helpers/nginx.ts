/**
 * Debian's nginx (installed by .ci/run when missing) running one of deploy/nginx/'s sites on loopback for a test:
 * the site is rewritten by the caller (ports, upstream servers, log paths), included inside a minimal `http { }`
 * as /etc/nginx/nginx.conf includes conf.d, and run in the foreground with a prefix in a temporary folder.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

/** A shipped site's text with each `from` replaced by its `to`; throws when a `from` is missing from the file. */
export function rewriteSite(site: URL, replacements: readonly (readonly [string, string])[]): string {
  let text = readFileSync(site, "utf8");
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`${site.pathname} has no '${from}'`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** A temporary nginx prefix holding the site and the `http { }` around it. */
export interface NginxPrefix {
  readonly dir: string;
  /** The main config (`nginx -c`). */
  readonly wrapper: string;
}

/**
 * A new temporary folder with the site (made by `siteIn`, which gets the folder, e.g. for log paths) and a main
 * config that includes it inside `http { }`.
 */
export function nginxPrefix(siteIn: (dir: string) => string): NginxPrefix {
  const dir = mkdtempSync(join(tmpdir(), "llm-proxy-nginx-"));
  const site = join(dir, "site.conf");
  writeFileSync(site, siteIn(dir));
  const wrapper = join(dir, "nginx.conf");
  // What /etc/nginx/nginx.conf does around conf.d, reduced to what the sites need.
  writeFileSync(wrapper, `pid ${dir}/nginx.pid;\nevents {}\nhttp {\n    include ${site};\n}\n`);
  return { dir, wrapper };
}

/** `nginx -t` on the prefix: its exit status and what it printed. */
export function checkNginx(prefix: NginxPrefix): { status: number | null; stderr: string } {
  const checked = spawnSync("nginx", ["-t", "-c", prefix.wrapper, "-p", prefix.dir, "-e", "stderr"], {
    encoding: "utf8",
  });
  return { status: checked.status, stderr: checked.stderr };
}

/** `nginx -t` warnings and errors, less the one Debian 12's nginx 1.22 cannot avoid (see the sites' comment). */
export function nginxComplaints(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter(
      (line) => /\[(warn|emerg|alert|crit)\]/.test(line) && !line.includes('use the "http2" directive'),
    );
}

/** A running nginx; `stop` ends it and waits for its exit. */
export interface RunningNginx {
  errors(): string;
  stop(): Promise<void>;
}

/** Runs nginx in the foreground on the prefix until `readyUrl` answers 200 (5 s at most). */
export async function startNginx(prefix: NginxPrefix, readyUrl: string): Promise<RunningNginx> {
  const nginx: ChildProcess = spawn(
    "nginx",
    ["-c", prefix.wrapper, "-p", prefix.dir, "-e", "stderr", "-g", "daemon off;"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let errors = "";
  nginx.stderr?.setEncoding("utf8").on("data", (text: string) => {
    errors += text;
  });
  const running: RunningNginx = {
    errors: () => errors,
    stop: async () => {
      if (nginx.exitCode !== null || nginx.signalCode !== null) return;
      const exited = new Promise((resolve) => nginx.once("exit", resolve));
      nginx.kill("SIGTERM");
      await exited;
    },
  };
  for (let waited = 0; ; waited += 20) {
    const up = await fetch(readyUrl).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return running;
    if (waited > 5_000 || nginx.exitCode !== null) {
      await running.stop();
      throw new Error(`nginx did not start: ${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A shipped site running on loopback, and where to reach it. */
export interface LoopbackSite extends RunningNginx {
  readonly prefix: NginxPrefix;
  /** `http://127.0.0.1:PORT` of the site's `listen 80;`. */
  readonly httpUrl: string;
  /** The port of the site's `listen 50051 http2;`. */
  readonly grpcPort: number;
}

/**
 * Runs a shipped site with its two listen ports moved to free loopback ports, its logs in the prefix, and each
 * upstream server (`[address as the site names it, gateway port]`) pointed at a gateway on loopback; resolves once
 * its /health answers. Each address must be in the site.
 */
export async function startSiteOnLoopback(
  site: URL,
  upstreams: readonly (readonly [address: string, port: number | undefined])[],
): Promise<LoopbackSite> {
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const prefix = nginxPrefix((dir) =>
    rewriteSite(site, [
      ["listen 80;", `listen 127.0.0.1:${httpPort};`],
      ["listen 50051 http2;", `listen 127.0.0.1:${grpcPort} http2;`],
      ...upstreams.map(([address, port]): [string, string] => [
        `server ${address} `,
        `server 127.0.0.1:${port} `,
      ]),
      ["/var/log/nginx/", `${dir}/`],
    ]),
  );
  const nginx = await startNginx(prefix, `${httpUrl}/health`);
  return { ...nginx, prefix, httpUrl, grpcPort };
}

/** Reads a streamed body to its end: its text, when its first chunk came and when it ended (performance.now()). */
export async function readTimed(
  response: Response,
): Promise<{ readonly text: string; readonly firstAt: number; readonly endedAt: number }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let firstAt: number | undefined;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    firstAt ??= performance.now();
    text += Buffer.from(value).toString("utf8");
  }
  const endedAt = performance.now();
  return { text, firstAt: firstAt ?? endedAt, endedAt };
}
