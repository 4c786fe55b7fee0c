#!/usr/bin/env python3
"""Every link and path the repository's docs and comments name must exist in a clone.

Checked, over the files git tracks (no network: outside URLs are not followed):
1. every relative Markdown link `[text](target)` in a `*.md` file resolves to a file or
   directory, and a `#anchor` (in the same file or another `*.md`) to one of its headings;
2. every repository path named in a doc or a source file (`src/...`, `crates/...`,
   `tests/...`, `docs/...`, `scripts/...`, `migrations/...`, `ui/...`, ...) exists, read
   from the repository root, or from the naming file's directory or one above it (a
   crate's own `src/lib.rs`); a path with a placeholder (`fuzz/seeds/<target>`) needs its
   fixed part;
3. nothing cites the team's notes outside the repository (`../shared`, `PROTOCOL.md`,
   `DESIGN.md`) or a README section from code (the text lives in `docs/`).

Prints each problem as `file:line: what` and exits 1 if there is any. It first runs itself
on a small repository with one planted problem of each kind, and fails if it misses one.
"""
import os
import re
import subprocess
import sys
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

TEXT_EXT = (".rs", ".ts", ".tsx", ".mjs", ".js", ".sh", ".py", ".toml", ".yml", ".yaml",
            ".md", ".sql", ".json", ".html", ".css")
# Directories a path may start with, and outputs that exist only after a build or run.
TOP = ("src", "src-tauri", "crates", "tests", "docs", "scripts", "migrations",
       "migrations_pg", "ui", "benches", "fuzz", "monitoring", "packaging", "debian",
       "deploy", "proptest-regressions", ".ci")
GENERATED = ("ui/dist", "ui/node_modules", "fuzz/corpus", "fuzz/artifacts", "fuzz/target",
             "fuzz/coverage", "src-tauri/gen", "src-tauri/target", "ui/test-results")
# This file names the patterns it looks for.
SELF = "scripts/check-links.py"
# A migration's text is fixed once released (sqlx refuses a database whose applied
# migration's checksum changed), so a repository path named in its comments may since
# have moved; its other checks still apply.
FROZEN = ("migrations/", "migrations_pg/")

PATH_RE = re.compile(
    r"(?<![\w.$/@~-])((?:%s)/[\w.\-/<>{}*]*)" % "|".join(re.escape(t) for t in TOP))
LINK_RE = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMG_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?\s*\)")
OUTSIDE_RE = re.compile(r"\.\./shared\b|\bPROTOCOL\.md\b|\bDESIGN\.md\b|\bshared/fixtures\b|\bTESTING\.md\b")
README_SECTION_RE = re.compile(r"\bREADME\b(?!\.md)")


def tracked():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True, check=True).stdout
    files = [f for f in out.decode().split("\0") if f]
    # Files added but not yet committed count too (the check runs before a commit).
    return [f for f in files if os.path.isfile(f)]


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"`|\*\*|__|\[|\]\([^)]*\)", "", heading.strip()).strip()
    text = text.lower()
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " -":
            out.append("-" if ch == " " else ch)
        elif ch == "_" or cat[0] in "LN" or cat == "Mn":
            out.append(ch)
    return "".join(out)


_anchors = {}


def anchors(md):
    if md not in _anchors:
        found = set()
        counts = {}
        in_code = False
        for line in open(md, encoding="utf-8"):
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            m = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                s = slug(m.group(1))
                n = counts.get(s, 0)
                counts[s] = n + 1
                found.add(s if n == 0 else "%s-%d" % (s, n))
        _anchors[md] = found
    return _anchors[md]


def exists(path):
    """The path, or a file its name begins (a migration named by number: migrations/0014)."""
    if os.path.exists(path):
        return True
    d, base = os.path.split(path)
    return bool(base) and os.path.isdir(d or ".") and any(
        e.startswith(base + "_") for e in os.listdir(d or "."))


def exists_from(path, naming_file):
    """Exists from the root, or from the naming file's directory or one above it."""
    if exists(path):
        return True
    d = os.path.dirname(naming_file)
    while d:
        if exists(os.path.join(d, path)):
            return True
        d = os.path.dirname(d)
    return False


def check_path(token, naming_file):
    token = token.rstrip(".,:;'\"`)")
    # A placeholder or glob: only its fixed part must exist.
    fixed = re.split(r"[<>{}*]", token, 1)[0]
    if fixed != token:
        fixed = fixed.rsplit("/", 1)[0] if not fixed.endswith("/") else fixed.rstrip("/")
    else:
        fixed = token.rstrip("/")
    if not fixed or fixed in TOP:
        return True
    if any(fixed == g or fixed.startswith(g + "/") for g in GENERATED):
        return True
    return exists_from(fixed, naming_file)


def check():
    """The problems of the repository in the working directory, and how many files were read."""
    problems = []
    _anchors.clear()
    files = tracked()
    for f in files:
        if not f.endswith(TEXT_EXT) or f == SELF:
            continue
        if f.endswith(".json") and not f.startswith(("ui/e2e", ".")):
            continue  # data (fixtures, bindings, locks) names no repository paths
        if f.endswith("package-lock.json") or f.startswith("ui/src/bindings/"):
            continue
        try:
            text = open(f, encoding="utf-8").read()
        except UnicodeDecodeError:
            continue
        is_md = f.endswith(".md")
        in_code = False
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE_RE.search(line):
                problems.append("%s:%d: names a file outside the repository: %s"
                                % (f, n, OUTSIDE_RE.search(line).group(0)))
            if not is_md and README_SECTION_RE.search(line):
                problems.append("%s:%d: cites a README section; cite the docs/ file that holds it"
                                % (f, n))
            if is_md:
                if line.lstrip().startswith("```"):
                    in_code = not in_code
                if not in_code:
                    for m in list(LINK_RE.finditer(line)) + list(IMG_RE.finditer(line)):
                        target = m.group(1)
                        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
                            continue  # an outside URL (http:, https:, mailto:)
                        path, _, anchor = target.partition("#")
                        dest = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
                        if path and not os.path.exists(dest):
                            problems.append("%s:%d: link to a missing file: %s" % (f, n, target))
                            continue
                        if anchor and dest.endswith(".md") and anchor not in anchors(dest):
                            problems.append("%s:%d: link to a missing heading: %s" % (f, n, target))
            for m in ([] if f.startswith(FROZEN) else PATH_RE.finditer(line)):
                # Part of a URL (https://host/src/...): the word it is in names a scheme.
                before = line[:m.start(1)]
                word_start = max(before.rfind(c) for c in " \t\"'`(<[") + 1
                if "://" in before[word_start:]:
                    continue
                if not check_path(m.group(1), f):
                    problems.append("%s:%d: names a path that does not exist: %s"
                                    % (f, n, m.group(1).rstrip(".,:;'\"`)")))
    return problems, len(files)


SELF_TEST = {
    "docs/a.md": "# Title\n\n## A `code` heading, twice\n\n## A `code` heading, twice\n\n"
                 "[ok](b.md) [ok](b.md#part-two) [ok](#a-code-heading-twice-1) "
                 "[ok](https://example.invalid/src/nope.rs) [bad](missing.md) [bad](b.md#nope)\n"
                 "`src/lib.rs` and `migrations/0001` exist; `src/gone.rs` does not.\n",
    "docs/b.md": "# B\n\n## Part two\n\n```\n[not a link](nowhere.md)\n```\n",
    "src/lib.rs": "//! See docs/a.md and `crates/x/src/y.rs`; once PROTOCOL.md section 2.\n"
                  "// Cites the README, \"Speed\".\n",
    "migrations/0001_init.sql": "-- nothing\n",
}
SELF_TEST_EXPECTED = {
    "docs/a.md:7: link to a missing file: missing.md",
    "docs/a.md:7: link to a missing heading: b.md#nope",
    "docs/a.md:8: names a path that does not exist: src/gone.rs",
    "src/lib.rs:1: names a path that does not exist: crates/x/src/y.rs",
    "src/lib.rs:1: names a file outside the repository: PROTOCOL.md",
    "src/lib.rs:2: cites a README section; cite the docs/ file that holds it",
}


def self_test():
    """The checker finds exactly the planted problems of a small repository."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for path, text in SELF_TEST.items():
            os.makedirs(os.path.join(d, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(d, path), "w", encoding="utf-8") as f:
                f.write(text)
        subprocess.run(["git", "init", "-q", d], check=True)
        here = os.getcwd()
        os.chdir(d)
        try:
            found, _ = check()
        finally:
            os.chdir(here)
    if set(found) != SELF_TEST_EXPECTED:
        print("check-links self-test FAILED")
        for p in sorted(SELF_TEST_EXPECTED - set(found)):
            print("  not found:", p)
        for p in sorted(set(found) - SELF_TEST_EXPECTED):
            print("  unexpected:", p)
        return False
    return True


def main():
    if not self_test():
        return 1
    os.chdir(ROOT)
    problems, n = check()
    for p in problems:
        print(p)
    print("check-links: %d files, %d problems" % (n, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
