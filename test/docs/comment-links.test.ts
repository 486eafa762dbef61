/**
 * Comments that point at a file point at one in this repository: every repository path (`docs/…`, `src/…`,
 * `test/…`, …) or relative path (`./…`, `../…`) named in a comment of `src/` or `bench/` exists, a `#section`
 * after a Markdown path names one of that file's headings, and no file refers to documents kept beside the
 * repository (the shared folder), which a reader of a clone does not have. Comments are found by the TypeScript
 * parser, so URLs and paths inside strings are not mistaken for them. The relative links of the Markdown
 * documents are held to the same rule.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = process.cwd();
/** Top-level folders a comment may name by repository path. */
const REPO_FOLDERS = ["docs", "src", "test", "bench", "proto", "examples", "gen"];
const PATH_PATTERN = new RegExp(
  String.raw`(?<![\w@/.-])((?:\.\.?/)+[\w.-][\w./-]*|(?:${REPO_FOLDERS.join("|")})/[\w./-]*[\w-])(#[\w-]+)?`,
  "g",
);
/** Written so that this file does not match itself. */
const OUTSIDE_DOCS = new RegExp(["\\.\\./shar", "ed\\b|\\bshar", "ed/docs/"].join(""));

function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The text of every comment in a file, and a way to tell the line of an offset in it. */
function commentsOf(file: string): { text: string; lineAt(offset: number): number }[] {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const seen = new Set<number>();
  const comments: { text: string; lineAt(offset: number): number }[] = [];
  const collect = (ranges: readonly ts.CommentRange[] | undefined): void => {
    for (const range of ranges ?? []) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      const lineAt = (offset: number): number =>
        source.getLineAndCharacterOfPosition(range.pos + offset).line + 1;
      comments.push({ text: text.slice(range.pos, range.end), lineAt });
    }
  };
  const visit = (node: ts.Node): void => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return comments;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings; a repeated heading gets `-1`, `-2`, … as on GitHub. */
function anchorsOf(markdownFile: string): Set<string> {
  const text = readFileSync(markdownFile, "utf8").replace(/^```[\s\S]*?^```/gm, "");
  const anchors = new Set<string>();
  for (const heading of text.match(/^#{1,6} .+$/gm) ?? []) {
    const anchor = anchorOf(heading.replace(/^#+ /, ""));
    let unique = anchor;
    for (let suffix = 1; anchors.has(unique); suffix++) unique = `${anchor}-${suffix}`;
    anchors.add(unique);
  }
  return anchors;
}

/** Every broken relative link (`[text](path#section)`) in a Markdown file, as `file: link (why)`. */
function brokenMarkdownLinks(markdownFile: string): string[] {
  const problems: string[] = [];
  const text = readFileSync(markdownFile, "utf8").replace(/^```[\s\S]*?^```/gm, "");
  for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = match[1] ?? "";
    if (/^[a-z]+:/i.test(link)) continue;
    const [path = "", section] = link.split("#");
    const target = path === "" ? markdownFile : resolve(dirname(markdownFile), path);
    const where = `${relative(ROOT, markdownFile)}: ${link}`;
    if (!existsSync(target)) problems.push(`${where} (no such file)`);
    else if (section !== undefined && target.endsWith(".md") && !anchorsOf(target).has(section)) {
      problems.push(`${where} (no such section)`);
    }
  }
  return problems;
}

/** Every broken reference in the comments of the files under `folders`, as `file:line: reference (why)`. */
function brokenReferences(folders: readonly string[]): string[] {
  const problems: string[] = [];
  for (const file of folders.flatMap((folder) => typeScriptFiles(join(ROOT, folder)))) {
    for (const comment of commentsOf(file)) {
      for (const match of comment.text.matchAll(PATH_PATTERN)) {
        const path = (match[1] ?? "").replace(/[.]+$/, "");
        if (path.includes("*")) continue;
        const target = path.startsWith(".") ? resolve(dirname(file), path) : resolve(ROOT, path);
        const where = `${relative(ROOT, file)}:${comment.lineAt(match.index)}: ${match[0]}`;
        if (relative(ROOT, target).startsWith("..")) problems.push(`${where} (outside the repository)`);
        else if (!existsSync(target)) problems.push(`${where} (no such file)`);
        else if (
          match[2] !== undefined &&
          path.endsWith(".md") &&
          !anchorsOf(target).has(match[2].slice(1))
        ) {
          problems.push(`${where} (no such section)`);
        }
      }
    }
  }
  return problems;
}

describe("links in comments", () => {
  it("every path named in a comment of src/ or bench/ exists in the repository, sections included", () => {
    expect(brokenReferences(["src", "bench"])).toEqual([]);
  });

  it("finds the references it checks (the wire-format doc is cited from src/)", () => {
    const cited = typeScriptFiles(join(ROOT, "src")).flatMap((file) =>
      commentsOf(file).filter((comment) => comment.text.includes("docs/wire-formats.md#")),
    );
    expect(cited.length).toBeGreaterThan(5);
  });

  it("every relative link in the README, bench/README.md and docs/ leads to a file and section that exist", () => {
    const markdown = [
      "README.md",
      "bench/README.md",
      ...readdirSync(join(ROOT, "docs")).map((name) => `docs/${name}`),
    ]
      .filter((path) => path.endsWith(".md"))
      .map((path) => join(ROOT, path));
    expect(markdown.flatMap(brokenMarkdownLinks)).toEqual([]);
  });

  it("nothing in the repository points at documents outside it", () => {
    const files = ["src", "test", "bench", "docs", "examples"]
      .flatMap((folder) =>
        readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile() && /\.(ts|md|yaml)$/.test(entry.name))
          .map((entry) => join(entry.parentPath, entry.name)),
      )
      .concat(join(ROOT, "README.md"));
    const offenders = files.filter((file) => OUTSIDE_DOCS.test(readFileSync(file, "utf8")));
    expect(offenders.map((file) => relative(ROOT, file))).toEqual([]);
  });
});
