/**
 * The buf templates a Go or Python team uses (examples/buf.gen.*.yaml). Their remote plugins need the network, so
 * here each plugin is swapped for the local protoc-gen-es and the rest of the template runs as written: buf must
 * accept it, and its inputs must select exactly llm-proxy's own protos, llmproxy/v1/chat.proto and embeddings.proto
 * (not the vendored gRPC protos).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUF = join(PROJECT_ROOT, "node_modules/.bin/buf");

interface Template {
  version: string;
  inputs: { directory: string; paths: string[] }[];
  managed?: { enabled: boolean; override?: { file_option: string; value: string }[] };
  plugins: { remote?: string; local?: string; out: string; opt?: string | string[] }[];
}

function generateOffline(file: string): Promise<string[]> {
  const template = parse(readFileSync(join(PROJECT_ROOT, file), "utf8")) as Template;
  const offline = {
    ...template,
    plugins: template.plugins.map((_plugin, index) => ({
      local: "protoc-gen-es",
      out: `plugin-${index}`,
      opt: "target=ts",
    })),
  };
  const dir = mkdtempSync(join(tmpdir(), "llm-proxy-buf-template-"));
  writeFileSync(join(dir, "buf.gen.yaml"), stringify(offline));
  return new Promise((resolve, reject) => {
    execFile(
      BUF,
      ["generate", "--template", join(dir, "buf.gen.yaml"), "-o", join(dir, "out")],
      { cwd: PROJECT_ROOT, timeout: 30_000 },
      (error, _stdout, stderr) => {
        if (error !== null) return reject(new Error(stderr));
        resolve(
          readdirSync(join(dir, "out"), { recursive: true, withFileTypes: true })
            .filter((entry) => entry.isFile())
            .map((entry) => join(entry.parentPath, entry.name).slice(join(dir, "out").length + 1))
            .sort(),
        );
      },
    );
  });
}

describe("examples/buf.gen.*.yaml", () => {
  it("Go: protocolbuffers/go + grpc/go, go_package from managed mode, llmproxy's protos only", async () => {
    const template = parse(readFileSync(join(PROJECT_ROOT, "examples/buf.gen.go.yaml"), "utf8")) as Template;
    expect(template.plugins.map((plugin) => plugin.remote)).toEqual([
      "buf.build/protocolbuffers/go",
      "buf.build/grpc/go",
    ]);
    expect(template.managed?.override?.[0]?.file_option).toBe("go_package_prefix");
    expect(await generateOffline("examples/buf.gen.go.yaml")).toEqual([
      "plugin-0/llmproxy/v1/chat_pb.ts",
      "plugin-0/llmproxy/v1/embeddings_pb.ts",
      "plugin-1/llmproxy/v1/chat_pb.ts",
      "plugin-1/llmproxy/v1/embeddings_pb.ts",
    ]);
  });

  it("Python: messages, type stubs and grpcio stubs, llmproxy's protos only", async () => {
    const template = parse(
      readFileSync(join(PROJECT_ROOT, "examples/buf.gen.python.yaml"), "utf8"),
    ) as Template;
    expect(template.plugins.map((plugin) => plugin.remote)).toEqual([
      "buf.build/protocolbuffers/python",
      "buf.build/protocolbuffers/pyi",
      "buf.build/grpc/python",
    ]);
    const files = await generateOffline("examples/buf.gen.python.yaml");
    expect(files).toHaveLength(6);
    expect(files.every((file) => /\/llmproxy\/v1\/(chat|embeddings)_pb\.ts$/.test(file))).toBe(true);
  });
});
