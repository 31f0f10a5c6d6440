#!/usr/bin/env bash
# Regenerates docs/screenshot.png: the window as a person first sees it,
# with default settings, after it compressed a text file and restored an
# image, on a private X server (Xvfb).
#
# usage: docs/screenshot.sh [ZPNG_BINARY] [OUT.png]
#   (default: ./zpng from `make zpng`, docs/screenshot.png)
# Needs Xvfb, xwininfo (x11-utils) and ImageMagick's import.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/zpng}")
out=$(realpath -m "${2:-$root/docs/screenshot.png}")
for tool in Xvfb xwininfo import; do
	command -v "$tool" >/dev/null || { echo "screenshot.sh: $tool not found" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "screenshot.sh: no zpng at $bin (run make zpng)" >&2; exit 1; }

work=$(mktemp -d)
xvfb=
app=
cleanup() {
	[ -n "$app" ] && kill "$app" 2>/dev/null && wait "$app" 2>/dev/null
	[ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null && wait "$xvfb" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# A fresh home: default settings, no one's preferences read or changed.
export HOME=$work/home XDG_RUNTIME_DIR=$work/run GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1 FYNE_SCALE=1
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$work/files"
chmod 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY

# Two texts: the README's opening, to compress in the window, and a letter,
# compressed beforehand with the default level, to restore in it.
head -c 6000 "$root/README.md" >"$work/files/README.md"
sed -n '1,60p' "$root/codec/FORMAT.md" >"$work/files/letter.txt"
"$bin" compress "$work/files/letter.txt" >/dev/null
rm "$work/files/letter.txt"

exec 3>"$work/display"
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 2>/dev/null &
xvfb=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=:$(cat "$work/display")

"$bin" "$work/files/README.md" "$work/files/letter.txt.zpng.png" &
app=$!
for _ in $(seq 1500); do
	[ -f "$work/files/README.md.zpng.png" ] && [ -f "$work/files/letter.txt" ] && break
	kill -0 "$app" 2>/dev/null || { echo "screenshot.sh: zpng exited early" >&2; exit 1; }
	sleep 0.2
done
[ -f "$work/files/letter.txt" ] || { echo "screenshot.sh: the window did not finish in 5 minutes" >&2; exit 1; }
sleep 2 # the cards draw their results

win=$(xwininfo -root -tree | awk '/"ZPNG"/ { print $1; exit }')
[ -n "$win" ] || { echo "screenshot.sh: no ZPNG window on the display" >&2; exit 1; }
import -display "$DISPLAY" -window "$win" "$out"
echo "$out"
