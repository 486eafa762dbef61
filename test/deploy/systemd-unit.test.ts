/**
 * deploy/llm-proxy.service: `systemd-analyze verify` accepts it (with /opt/llm-proxy pointed at this checkout, so
 * that its ExecStart exists), it runs as a non-root user and is always restarted, its stop timeout covers the
 * shutdown it waits for, and its own ExecStart and ExecReload lines, run as systemd would run them, start a
 * gateway that reloads its config on `systemctl reload` (SIGHUP) and stops with exit 0 on its KillSignal.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { killGatewayProcesses, listeningPort } from "../helpers/gateway-process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
const UNIT = readFileSync(join(ROOT, "deploy/llm-proxy.service"), "utf8");
/** The gateway's own stop sequence beyond the drain: 2 s to end the rest, 10 s for the last trace export. */
const SHUTDOWN_BEYOND_DRAIN_S = 12;

afterAll(() => killGatewayProcesses());

/** The value of `key=` in the unit (the last one wins, as in systemd). */
function setting(key: string): string | undefined {
  const lines = UNIT.split("\n").filter((line) => line.startsWith(`${key}=`));
  return lines.at(-1)?.slice(key.length + 1);
}

describe("deploy/llm-proxy.service", () => {
  it("passes systemd-analyze verify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llm-proxy-unit-"));
    const unit = join(dir, "llm-proxy.service");
    writeFileSync(unit, UNIT.replaceAll("/opt/llm-proxy", ROOT));
    const { stdout, stderr } = await promisify(execFile)("systemd-analyze", ["verify", unit]);
    // verify exits 0 even for unknown keys or bad values; it only complains on stderr.
    expect(`${stdout}${stderr}`).toBe("");
  });

  it("runs as a non-root user, always restarts, reloads with SIGHUP and outwaits the drain", () => {
    expect(setting("User")).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(setting("User")).not.toBe("root");
    expect(setting("Restart")).toBe("always");
    expect(setting("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(setting("KillSignal")).toBe("SIGTERM");
    const drainDefault = 30;
    expect(Number(setting("TimeoutStopSec"))).toBeGreaterThanOrEqual(drainDefault + SHUTDOWN_BEYOND_DRAIN_S);
    expect(setting("ExecStart")).toMatch(
      /^\/opt\/llm-proxy\/node_modules\/\.bin\/node \/opt\/llm-proxy\/src\/main\.ts /,
    );
  });

  it("its ExecStart serves, its ExecReload reloads the config, its KillSignal stops it with exit 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llm-proxy-unit-run-"));
    const config = join(dir, "config.yaml");
    writeFileSync(config, "model_config: {echo-1: echo}\nserver: {watch_config: false}\n");
    const [command = "", ...args] = (setting("ExecStart") ?? "")
      .replaceAll("/opt/llm-proxy", ROOT)
      .replace("/etc/llm-proxy/config.yaml", config)
      .replace("--port 9000", "--port 0 --host 127.0.0.1")
      .split(" ");
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const until = async (what: string, condition: () => boolean): Promise<void> => {
      for (let waited = 0; !condition(); waited += 25) {
        if (waited > 10_000 || child.exitCode !== null) throw new Error(`never saw ${what}: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    await until("llm-proxy ready", () => stdout.includes("llm-proxy ready"));
    const port = listeningPort(stdout.split("\n"));
    writeFileSync(config, "model_config: {echo-1: echo, echo-2: echo}\nserver: {watch_config: false}\n");
    const [kill = "", ...killArgs] = (setting("ExecReload") ?? "")
      .replace("$MAINPID", String(child.pid))
      .split(" ");
    await promisify(execFile)(kill, killArgs);
    await until("config reloaded", () => stdout.includes('"msg":"config reloaded"'));
    const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as {
      data: { id: string }[];
    };
    expect(models.data.map((model) => model.id)).toContain("echo-2");
    child.kill(setting("KillSignal") as NodeJS.Signals);
    expect(await exited).toBe(0);
    expect(stdout).toContain("shutdown complete");
  });
});
