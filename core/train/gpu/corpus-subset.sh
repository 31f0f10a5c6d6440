#!/usr/bin/env bash
# corpus-subset.sh CORPUS OUT.tar.xz — a deterministic ~100 MB slice of the training corpus
# built by ../shared/corpus/corpus-train.sh (see weights/README.md), small enough (~25 MB
# compressed) to travel to the GPU machine. Files are taken whole, in the order of the
# SHA-256 of their path, until each category's quota (bytes) is met. SCALE (percent,
# default 100) scales every quota: a GPU call that carries no Go toolchain has room
# for about twice the slice (docs/GPU.md). SALT (default none) is hashed in front of
# each path: another salt takes another slice, so that successive GPU runs see the whole
# corpus in turns.
set -euo pipefail
scale=${SCALE:-100}
salt=${SALT:-}
corpus=${1:?usage: corpus-subset.sh CORPUS OUT.tar.xz}
out=${2:?usage: corpus-subset.sh CORPUS OUT.tar.xz}
declare -A quota=([prose]=30000000 [code]=30000000 [markup]=15000000
                  [structured]=10000000 [email]=15000000 [binary]=3000000)
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for cat in "${!quota[@]}"; do
  (cd "$corpus" && find "$cat" -type f -printf '%s %p\n') |
    while read -r size path; do
      printf '%s %s %s\n' "$(printf '%s%s' "$salt" "$path" | sha256sum | cut -c1-16)" "$size" "$path"
    done | sort | awk -v q="$((quota[$cat] * scale / 100))" 't < q { t += $2; print $3 }'
done | sort > "$list"
tar -C "$corpus" -cf - -T "$list" | xz -9 -T2 > "$out"
echo "$(wc -l < "$list") files, $(cd "$corpus" && cat $(cat "$list") | wc -c) bytes -> $(stat -c %s "$out") bytes"
