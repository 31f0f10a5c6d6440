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

# -static links mingw's runtime (libwinpthread-1.dll, which the native
# engine's threads need) into the .exe: Windows does not have it.
(cd "$work/src/app" && GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=$cc CXX=x86_64-w64-mingw32-g++ \
	CGO_LDFLAGS="-static ${CGO_LDFLAGS:-}" \
	nice "$fyne" package -os windows --release --tags notorch --icon "$ROOT/packaging/icon.png")

# The .exe may import only DLLs that every Windows has.
exe=$work/src/app/ZPNG.exe
imports=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p')
for dll in $imports; do
	case ${dll,,} in
	kernel32.dll | user32.dll | gdi32.dll | shell32.dll | opengl32.dll | msvcrt.dll | advapi32.dll | \
		ole32.dll | comdlg32.dll | winmm.dll | ws2_32.dll | ntdll.dll | imm32.dll | dwmapi.dll | bcrypt.dll) ;;
	*) die "ZPNG.exe imports $dll, which Windows does not ship: link it statically" ;;
	esac
done

out=$DIST/zpng_${VERSION}_windows_amd64.exe
mv "$exe" "$out"
rm -rf "$work"
echo "$out"
