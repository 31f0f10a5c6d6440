#!/usr/bin/env bash
# gpu-pack.sh CORPUS — fill .gotc/ (git-ignored) with what the GPU machine needs and
# lacks: a Go toolchain, the Go module sources of the headless CLI (vendor subset),
# and the training-corpus slice (core/train/gpu/corpus-subset.sh). See docs/GPU.md.
set -euo pipefail
corpus=${1:?usage: gpu-pack.sh CORPUS}
cd "$(git rev-parse --show-toplevel)"
../shared/device/pack-go.sh
[ -s .gotc/corpus.tar.xz ] || core/train/gpu/corpus-subset.sh "$corpus" .gotc/corpus.tar.xz
tmp=$(mktemp -d); trap 'rm -rf "$tmp" vendor' EXIT
go mod vendor
mkdir -p "$tmp/vendor"; cp vendor/modules.txt "$tmp/vendor/"
# Only the packages (and their embedded files) that the headless CLI and core build.
go list -mod=vendor -deps -tags nogui -f '{{if .Module}}{{.Dir}} {{join .EmbedFiles " "}}{{end}}' ./app ./core/... |
  grep "/vendor/" | while read -r dir embeds; do
    rel=${dir#"$PWD"/}
    mkdir -p "$tmp/$rel"; find "$dir" -maxdepth 1 -type f -exec cp -p {} "$tmp/$rel/" \;
    for e in $embeds; do mkdir -p "$tmp/$rel/$(dirname "$e")"; cp -p "$dir/$e" "$tmp/$rel/$e"; done
  done
tar -C "$tmp" -cf - vendor | xz -9 -T2 > .gotc/vendor.tar.xz
ls -l .gotc
# What travels is the working tree's files plus the carried ones, 64 MiB at most. The
# run needs only the newest model of each preset: weights/superseded/ must leave the
# working tree for the call (docs/GPU.md), and `git checkout weights/superseded` brings
# it back.
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carry=$(du -cb .gotc/go.tar.xz .gotc/corpus.tar.xz .gotc/vendor.tar.xz | tail -1 | cut -f1)
echo "working tree $tree + carry $carry = $((tree + carry)) bytes (limit $((64 << 20)))"
