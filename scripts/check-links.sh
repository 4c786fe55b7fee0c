#!/usr/bin/env bash
# Every relative link in the repository's Markdown and every repository path named in a doc
# or comment exists in a clone; nothing cites a file outside the repository. No network.
# What is checked, and how: the docstring of scripts/check-links.py (docs/testing.md,
# "Links and paths").
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/check-links.py "$@"
