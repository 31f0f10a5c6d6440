#!/usr/bin/env bash
# Builds dist/zpng_VERSION_linux_ARCH.tar.xz from a built zpng command:
# `fyne package -os linux` lays out the binary, desktop entry and icon, and
# this script adds what fyne does not (the MIME type, a hicolor icon) and
# replaces fyne's Makefile, whose install targets break when FyneApp.toml
# lists MIME types (they try to install "usr/local/bin/zpng %F").
#
# It ships libzpng-torch.so (what the fine-tune, --engine torch, CUDA and
# zpng train load) from beside the binary in usr/lib/zpng, where zpng looks
# for it (../lib/zpng from its own folder); a -tags notorch binary has none.
#
# usage: packaging/tarxz.sh [ZPNG_BINARY]   (default: ./zpng from `make zpng`)
# The unpacked tree is left in dist/linux/zpng for packaging/deb.sh.
source "$(dirname "$0")/lib.sh"

exe=$(realpath "${1:-$ROOT/zpng}")
[ -x "$exe" ] || die "no zpng binary at $exe (run make zpng)"
torchlib=
if ! "$GO" version -m "$exe" | grep -q -- '-tags=.*notorch'; then
	torchlib=$(dirname "$exe")/libzpng-torch.so
	[ -f "$torchlib" ] || die "no $torchlib beside $exe (run make zpng)"
fi
fyne=$(fyne_tool)
arch=$(dpkg --print-architecture 2>/dev/null || "$GO" env GOARCH)

work=$DIST/linux
rm -rf "$work"
mkdir -p "$work/fyne"

# fyne package wants Go code in --src, though it packages the given binary.
stage_fyne_metadata "$work/src"
cp "$ROOT/app/main.go" "$work/src/"
(cd "$work/fyne" && "$fyne" package -os linux --src "$work/src" \
	--exe "$exe" --icon "$ROOT/packaging/icon.png")

tar -xJf "$work/fyne/ZPNG.tar.xz" -C "$work/fyne"
# fyne puts the files under usr/local when the build machine has /usr/local,
# else under usr; the tarball's own Makefile picks the prefix instead.
from=$work/fyne/zpng/usr
[ -d "$from/local" ] && from=$from/local
tree=$work/zpng
mkdir -p "$tree/usr"
mv "$from/bin" "$from/share" "$tree/usr/"

desktop=$tree/usr/share/applications/$APP_ID.desktop
for line in 'Exec=zpng %F' 'MimeType=application/x-zpng;' "Icon=$APP_ID"; do
	grep -qxF "$line" "$desktop" || die "fyne's desktop entry lacks '$line':"$'\n'"$(cat "$desktop")"
done

install -Dm0644 "$ROOT/packaging/linux/zpng.xml" "$tree/usr/share/mime/packages/zpng.xml"
install -Dm0644 "$ROOT/packaging/icon.png" "$tree/usr/share/icons/hicolor/512x512/apps/$APP_ID.png"
install -Dm0644 "$ROOT/packaging/linux/Makefile" "$tree/Makefile"
[ -z "$torchlib" ] || install -Dm0644 "$torchlib" "$tree/usr/lib/zpng/libzpng-torch.so"

out=$DIST/zpng_${VERSION}_linux_$arch.tar.xz
XZ_OPT=${XZ_OPT:--T0} tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner -cJf "$out" zpng
rm -rf "$work/fyne" "$work/src"
echo "$out"
