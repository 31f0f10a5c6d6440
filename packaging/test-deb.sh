#!/usr/bin/env bash
# Installs the .deb as a person would and checks that double-clicking a
# .zpng.png restores the file: the desktop's MIME database names the type,
# the type's default app is ours, and `gio open` (what file managers do on a
# double-click) starts zpng, which writes the original next to the image.
# First it checks `make user-install` from the tar.xz beside the .deb the
# same way (type and default app only). It checks that libtorch loads only
# on demand: not for `zpng info`, but for a fine-tune, which runs from the
# installed /usr/lib/zpng/libzpng-torch.so. Purges the package at the end.
# Needs root (apt-get, dpkg), make, Xvfb, xdg-utils, libglib2.0-bin (gio),
# desktop-file-utils and dbus.
#
# usage: packaging/test-deb.sh [dist/zpng_VERSION_ARCH.deb]
source "$(dirname "$0")/lib.sh"

deb=$(realpath "${1:-$DIST/zpng_${VERSION}_$(dpkg --print-architecture).deb}")
[ -f "$deb" ] || die "no package $deb (run make deb)"
[ "$(id -u)" = 0 ] || die "must run as root: it installs and removes the package"
for tool in apt-get dpkg make xdg-mime gio Xvfb dbus-run-session desktop-file-validate sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found (see packaging/README.md for the packages)"
done
if dpkg-query -W -f='${Status}' zpng 2>/dev/null | grep -q 'install ok installed'; then
	die "zpng is installed already; remove it first (dpkg -r zpng)"
fi

# The installed zpng must find its own library, not one the caller names.
unset ZPNG_TORCH_LIB

tmp=$(mktemp -d)
token=zpng-test-$$-$RANDOM
installed=no
xvfb=
cleanup() {
	set +e
	for pid in $(zpng_pids); do kill "$pid"; done
	[ -n "$xvfb" ] && kill "$xvfb" && wait "$xvfb" 2>/dev/null
	if [ "$installed" = yes ]; then
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q purge zpng >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# zpng_pids lists the zpng processes this run started: they carry $token.
zpng_pids() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/exe" 2>/dev/null)" = /usr/bin/zpng ] || continue
		tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qx "ZPNG_TEST=$token" && echo "${d#/proc/}"
	done
	return 0
}

check() { # check WHAT GOT WANT
	if [ "$2" != "$3" ]; then
		echo "FAIL: $1: got '$2', want '$3'" >&2
		exit 1
	fi
	echo "ok: $1: $2"
}

# A fresh desktop user: own home and settings, a GNOME session (so that
# xdg-mime asks GIO, as GNOME's file manager does), the standard data dirs.
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share
export XDG_CACHE_HOME=$tmp/home/.cache XDG_DATA_DIRS=/usr/local/share:/usr/share
export XDG_CURRENT_DESKTOP=GNOME LANG=C.UTF-8
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

# The tar.xz beside the .deb: `make user-install` must register the type
# for one user, and `make user-uninstall` must take it away again.
tarball=${deb%/*}/zpng_${VERSION}_linux_$(dpkg --print-architecture).tar.xz
[ -f "$tarball" ] || die "no $tarball (run make tarxz)"
echo "== make user-install from $(basename "$tarball")"
mkdir -p "$tmp/tarxz"
tar -xJf "$tarball" -C "$tmp/tarxz"
cp "$ROOT/packaging/icon.png" "$tmp/tarxz/x.zpng.png"
make -s -C "$tmp/tarxz/zpng" user-install >/dev/null
check "user-install: xdg-mime query filetype x.zpng.png" "$(xdg-mime query filetype "$tmp/tarxz/x.zpng.png")" application/x-zpng
check "user-install: xdg-mime query default application/x-zpng" "$(xdg-mime query default application/x-zpng)" "$APP_ID.desktop"
check "user-install: Exec" "$(grep ^Exec= "$XDG_DATA_HOME/applications/$APP_ID.desktop")" "Exec=$HOME/.local/bin/zpng %F"
check "user-install: libzpng-torch.so" "$(ls "$HOME/.local/lib/zpng")" libzpng-torch.so
make -s -C "$tmp/tarxz/zpng" user-uninstall >/dev/null
check "user-uninstall: xdg-mime query filetype x.zpng.png" "$(xdg-mime query filetype "$tmp/tarxz/x.zpng.png")" image/png
check "user-uninstall: ~/.local/lib/zpng" "$(ls -d "$HOME/.local/lib/zpng" 2>/dev/null)" ""

echo "== install $deb"
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q install "$deb" >"$tmp/apt.log" 2>&1 ||
	{ cat "$tmp/apt.log" >&2; die "apt-get install failed"; }
installed=yes
check "installed version" "$(dpkg-query -W -f='${Version}' zpng)" "$VERSION"
check "/usr/share/doc/zpng" "$(ls /usr/share/doc/zpng | tr '\n' ' ')" "changelog.gz copyright "
check "changelog version" "$(zcat /usr/share/doc/zpng/changelog.gz | sed -n '1s/^zpng (\([^)]*\)).*/\1/p')" "$VERSION"
check "manual page sections" "$(zcat /usr/share/man/man1/zpng.1.gz | grep -c '^\.SS ')" \
	"$(zpng help 2>/dev/null | grep -cE '^  zpng [a-z]+ ')"
desktop=/usr/share/applications/$APP_ID.desktop
desktop-file-validate "$desktop" || die "$desktop is not valid"
echo "ok: desktop-file-validate $desktop"

# A real ZPNG image, and a plain PNG that must stay image/png.
dir=$tmp/files
mkdir -p "$dir"
seq 1 30000 | sed 's/$/ zpng packaging test line/' >"$dir/sample.txt"
want=$(sha256sum <"$dir/sample.txt" | cut -d' ' -f1)
head -c 110000 "$dir/sample.txt" >"$dir/tune.txt"
/usr/bin/zpng compress --method zstd "$dir/sample.txt" >/dev/null
image=$dir/sample.txt.zpng.png
[ -f "$image" ] || die "zpng compress wrote no $image"
rm "$dir/sample.txt"
cp /usr/share/icons/hicolor/512x512/apps/$APP_ID.png "$dir/plain.png"

echo "== libtorch on demand"
check "/usr/lib/zpng" "$(ls /usr/lib/zpng)" libzpng-torch.so
LD_DEBUG=files /usr/bin/zpng info "$image" >/dev/null 2>"$tmp/ld.log" || die "zpng info failed: $(tail "$tmp/ld.log")"
grep -q 'libc\.so' "$tmp/ld.log" || die "LD_DEBUG=files logged nothing: $(tail "$tmp/ld.log")"
check "libtorch files that zpng info loads" "$(grep -c 'libtorch\|libzpng-torch' "$tmp/ld.log" || true)" 0
# 110,000 bytes: enough for the small model's delta to be worth a fine-tune.
/usr/bin/zpng compress --method hybrid --model small --finetune-steps 2 "$dir/tune.txt" >/dev/null 2>"$tmp/tune.log" ||
	die "fine-tune compress failed: $(cat "$tmp/tune.log")"
check "fine-tune note" "$(grep -o '^  fine-tune (2 steps' "$tmp/tune.log")" "  fine-tune (2 steps"
tune_want=$(sha256sum <"$dir/tune.txt" | cut -d' ' -f1)
/usr/bin/zpng decompress --force -o "$dir/tune.out" "$dir/tune.txt.zpng.png" >/dev/null
check "fine-tuned image restores" "$(sha256sum <"$dir/tune.out" | cut -d' ' -f1)" "$tune_want"
rm "$dir/tune.txt" "$dir/tune.out" "$dir/tune.txt.zpng.png"

echo "== MIME type and default app"
check "xdg-mime query filetype sample.txt.zpng.png" "$(xdg-mime query filetype "$image")" application/x-zpng
check "xdg-mime query filetype plain.png" "$(xdg-mime query filetype "$dir/plain.png")" image/png
check "parent type in /usr/share/mime/subclasses" \
	"$(grep '^application/x-zpng ' /usr/share/mime/subclasses)" "application/x-zpng image/png"
check "xdg-mime query default application/x-zpng" "$(xdg-mime query default application/x-zpng)" "$APP_ID.desktop"

echo "== gio open sample.txt.zpng.png under Xvfb"
exec 3>"$tmp/display"
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || die "Xvfb did not start: $(cat "$tmp/xvfb.log")"
export DISPLAY=:$(cat "$tmp/display")

(cd "$dir" && ZPNG_TEST=$token dbus-run-session -- gio open "$image") >"$tmp/gio.log" 2>&1 ||
	die "gio open failed: $(cat "$tmp/gio.log")"
restored=$dir/sample.txt
for _ in $(seq 120); do
	[ -f "$restored" ] && [ "$(sha256sum <"$restored" | cut -d' ' -f1)" = "$want" ] && break
	sleep 0.5
done
pids=$(zpng_pids)
[ -n "$pids" ] || die "no zpng process started by gio open: $(cat "$tmp/gio.log")"
pid=${pids%% *}
launched=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^GIO_LAUNCHED_DESKTOP_FILE=//p')
check "zpng started from" "$launched" "$desktop"
check "restored sample.txt SHA-256" "$(sha256sum <"$restored" 2>/dev/null | cut -d' ' -f1)" "$want"
kill "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && die "zpng did not exit on SIGTERM"
echo "ok: zpng exited on SIGTERM"

echo "== remove"
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q purge zpng >/dev/null 2>&1
installed=no
[ ! -e /usr/bin/zpng ] && [ ! -e "$desktop" ] || die "dpkg -r left files behind"
check "xdg-mime query filetype after removal" "$(xdg-mime query filetype "$image")" image/png
echo "PASS: $deb"
