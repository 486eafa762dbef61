/**
 * The Dockerfile without a container engine: linted with dockerfile-utils (the Docker language server's linter;
 * hadolint has no Debian or npm package that ships its binary), checked for what the image promises (Node 24 base,
 * production dependencies only, non-root, healthcheck, allowlisted build context), and its commands run here: the
 * runtime stage's files are laid out as its COPY lines say, its CMD starts the gateway on the example config, and
 * its HEALTHCHECK passes against it and fails without it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { afterAll, describe, expect, it } from "vitest";
import { JEMALLOC_CONF } from "../../bench/lib/allocator.ts";
import { parseConfig } from "../../src/config/load.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const DOCKERIGNORE = readFileSync(join(ROOT, ".dockerignore"), "utf8");
const dockerfile = DockerfileParser.parse(DOCKERFILE);
const instructions = dockerfile.getInstructions();
const lastFrom = instructions.findLastIndex((instruction) => instruction.getKeyword() === "FROM");
/** The runtime (last) stage's instructions. */
const runtime = instructions.slice(lastFrom + 1);
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  scripts: { start: string };
};

const only = (keyword: string): Instruction[] => runtime.filter((i) => i.getKeyword() === keyword);
/** The exec-form argv of `CMD [...]` or `HEALTHCHECK ... CMD [...]`. */
function execForm(instruction: Instruction | undefined): string[] {
  const content = instruction?.getArgumentsContent() ?? "";
  return JSON.parse(content.slice(content.indexOf("["))) as string[];
}

/** COPY lines of the runtime stage that take files from the build context (not `--from`): [source, destination]. */
function contextCopies(): [string, string][] {
  const runtimeStart = instructions[lastFrom]?.getRange().start.line ?? 0;
  return dockerfile
    .getCOPYs()
    .filter((copy) => copy.getRange().start.line > runtimeStart)
    .filter((copy) => copy.getFlags().every((flag) => flag.getName() !== "from"))
    .map((copy) => {
      const args = copy.getArguments().map((argument) => argument.getValue());
      return [args[0] ?? "", args.at(-1) ?? ""];
    });
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("Dockerfile", () => {
  it("passes the linter with no diagnostic", () => {
    expect(validate(DOCKERFILE)).toEqual([]);
    // The linter does report problems (so an empty list means something).
    expect(validate("FROM node:24-bookworm-slim\nEXPOSE port\nCMD node\nCMD node\n").length).toBeGreaterThan(
      0,
    );
  });

  it("builds on Node 24 in two stages, installing production dependencies only from the lockfile", () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      expect(from.getImageName()).toBe("node");
      expect(from.getImageTag()).toMatch(/^24(-|$)/);
    }
    const installs = instructions.filter(
      (i) => i.getKeyword() === "RUN" && /\bnpm\b/.test(i.getArgumentsContent() ?? ""),
    );
    expect(installs.map((i) => i.getArgumentsContent())).toEqual([
      expect.stringMatching(/npm ci --omit=dev\b/),
    ]);
    expect(DOCKERFILE).not.toMatch(/npm (install|start)\b/);
  });

  it("runs as a non-root user, exposes 9000, has a HEALTHCHECK and an exec-form CMD", () => {
    const user = only("USER").at(-1)?.getArgumentsContent();
    expect(user).toBeDefined();
    expect(["root", "0", "0:0"]).not.toContain(user);
    expect(only("EXPOSE").map((i) => i.getArgumentsContent())).toEqual(["9000"]);
    expect(execForm(only("HEALTHCHECK")[0])[0]).toBe("node");
    // The same command as `npm start` (which the image cannot run: it uses the `node` devDependency).
    expect(execForm(only("CMD").at(-1))).toEqual([...PACKAGE.scripts.start.split(" "), "--host", "0.0.0.0"]);
  });

  it("lets the non-root user write the embedded store's folder, and nothing else", () => {
    // Where the default store.path resolves for the image's config (/app/config/config.yaml or the example).
    const example = parseConfig(
      readFileSync(join(ROOT, "config/config.example.yaml"), "utf8"),
      "/app/config/config.example.yaml",
    );
    const folder = dirname(example.store.path);
    expect(folder).toBe("/app/config/data");
    const user = only("USER").at(-1)?.getArgumentsContent();
    const runs = only("RUN").map((i) => i.getArgumentsContent() ?? "");
    expect(runs).toContainEqual(`mkdir ${folder} && chown ${user}:${user} ${folder}`);
    expect(runs.join("\n").match(/\bchown\b/g)).toHaveLength(1);
  });

  it("runs the gateway on jemalloc with the bench's settings", () => {
    const env = only("ENV")
      .map((i) => i.getArgumentsContent() ?? "")
      .join(" ");
    expect(env).toContain("LD_PRELOAD=/usr/local/lib/libjemalloc.so.2");
    expect(env).toContain(`MALLOC_CONF=${JEMALLOC_CONF}`);
    expect(DOCKERFILE).toMatch(/apt-get install -y --no-install-recommends libjemalloc2/);
  });

  it("copies from an allowlisted build context that never holds a local config, keys or node_modules", () => {
    const lines = DOCKERIGNORE.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(lines[0]).toBe("*");
    const allowed = lines.slice(1).map((line) => line.replace(/^!/, ""));
    for (const [source] of contextCopies()) expect(allowed, source).toContain(source);
    for (const secret of ["config/config.yaml", "config", ".env", ".git", "node_modules"]) {
      expect(allowed).not.toContain(secret);
    }
  });

  it("imports nothing at run time that `npm ci --omit=dev` leaves out", () => {
    const specifiers = new Set<string>();
    const files = ["src", "gen", "bin"].flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" }).map((file) =>
        join(ROOT, dir, file),
      ),
    );
    for (const file of files.filter((path) => /\.(ts|mjs|js)$/.test(path))) {
      for (const match of readFileSync(file, "utf8").matchAll(
        /(?:from |import\(|resolve\()\s*"([^".][^"]*)"/g,
      )) {
        specifiers.add(match[1] ?? "");
      }
    }
    const packages = [...specifiers]
      .filter((specifier) => !specifier.startsWith("node:") && !builtinModules.includes(specifier))
      .map((specifier) =>
        specifier
          .split("/")
          .slice(0, specifier.startsWith("@") ? 2 : 1)
          .join("/"),
      );
    expect(packages).toContain("redoc");
    for (const name of packages) expect(Object.keys(PACKAGE.dependencies), name).toContain(name);
  });
});

/** Lays out the runtime stage's files in a temp folder; node_modules stands in for the deps stage. */
function imageLayout(): string {
  const app = mkdtempSync(join(tmpdir(), "llm-proxy-image-"));
  for (const [source, destination] of contextCopies()) {
    const target = join(app, destination.endsWith("/") ? join(destination, source) : destination);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(ROOT, source), target, { recursive: statSync(join(ROOT, source)).isDirectory() });
  }
  symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"), "dir");
  return app;
}

function healthcheck(port: number): Promise<number> {
  const [, ...args] = execForm(only("HEALTHCHECK")[0]);
  const localArgs = args.map((arg) => arg.replace("127.0.0.1:9000", `127.0.0.1:${port}`));
  return new Promise((resolve) => {
    execFile(process.execPath, localArgs, { timeout: 10_000 }, (error) => {
      resolve(error === null ? 0 : typeof error.code === "number" ? error.code : -1);
    });
  });
}

describe("the image's commands, outside a container", () => {
  it("CMD serves the example config, and HEALTHCHECK passes while it runs and fails after", async () => {
    const app = imageLayout();
    const [, ...args] = execForm(only("CMD").at(-1));
    // The same command line; the appended flags (last one wins) keep the test on loopback and a free port.
    const child = spawn(process.execPath, [...args, "--host", "127.0.0.1", "--port", "0"], {
      cwd: app,
      env: { ...process.env, NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    // Whole lines only: a pipe read may end in the middle of one.
    const lines: string[] = [];
    let partial = "";
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts.filter(Boolean));
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
    });
    const deadline = Date.now() + 10_000;
    let port = 0;
    // "llm-proxy ready" (which names the config) is logged just after Fastify's "listening" line.
    while (port === 0) {
      const match = lines.map((line) => /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line)).find(Boolean);
      const ready = lines.some((line) => line.includes("llm-proxy ready"));
      if (match?.[1] !== undefined && ready) port = Number(match[1]);
      else if (Date.now() > deadline || child.exitCode !== null) throw new Error(`did not start: ${stderr}`);
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(lines.some((line) => line.includes('"config":"config/config.example.yaml"'))).toBe(true);
    const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as {
      data: { id: string }[];
    };
    expect(models.data.map((model) => model.id)).toEqual(["echo-1", "echo-slow", "echo-embed"]);
    expect(await healthcheck(port)).toBe(0);

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(await healthcheck(port)).toBe(1);
  });
});
