#!/usr/bin/env bash
# Cross-builds the Windows app, dist/zpng_VERSION_windows_amd64.exe, with
# `fyne package -os windows` and mingw-w64 (gcc-mingw-w64-x86-64): a GUI
# program with the icon and version in its resources. It runs the native
# engine (-tags notorch): there is no libtorch for Windows here.
#
# fyne package writes a resource file (fyne.syso) and a metadata file into
# the source folder while it builds, and rewrites FyneApp.toml; so it builds
# a copy of the module in dist/windows/src, not the working tree.
source "$(dirname "$0")/lib.sh"

cc=x86_64-w64-mingw32-gcc
command -v "$cc" >/dev/null || die "$cc not found (apt-get install gcc-mingw-w64-x86-64)"
fyne=$(fyne_tool)

work=$DIST/windows
rm -rf "$work"
mkdir -p "$work/src"
# The module's files as git sees them (committed or not, but not ignored).
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$ROOT" && xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh) |
	tar -C "$ROOT" --null -T - -cf - | tar -C "$work/src" -xf -
stage_fyne_metadata "$work/src/app"

(cd "$work/src/app" && GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=$cc CXX=x86_64-w64-mingw32-g++ \
	nice "$fyne" package -os windows --release --tags notorch --icon "$ROOT/packaging/icon.png")

out=$DIST/zpng_${VERSION}_windows_amd64.exe
mv "$work/src/app/ZPNG.exe" "$out"
rm -rf "$work"
echo "$out"
