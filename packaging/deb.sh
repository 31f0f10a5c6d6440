#!/usr/bin/env bash
# Builds dist/zpng_VERSION_ARCH.deb from the tree that packaging/tarxz.sh
# left in dist/linux/zpng: /usr/bin/zpng (the shipped models are inside it,
# embedded by package weights), /usr/lib/zpng/libzpng-torch.so (libtorch's
# side, which zpng loads for the fine-tune, --engine torch, CUDA and
# training), the desktop entry, the MIME type and the icon, with maintainer
# scripts that refresh the desktop's caches.
#
# Depends come from the libraries the binary and libzpng-torch.so link
# (dpkg-shlibdeps, from dpkg-dev), plus OpenBLAS, which libtorch loads for
# its CPU math.
source "$(dirname "$0")/lib.sh"

tree=$DIST/linux/zpng
[ -x "$tree/usr/bin/zpng" ] || die "no $tree/usr/bin/zpng (run packaging/tarxz.sh first)"
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps not found (apt-get install dpkg-dev)"
arch=$(dpkg --print-architecture)

work=$DIST/deb
rm -rf "$work"
mkdir -p "$work/root/DEBIAN" "$work/shlibs/debian"
cp -a "$tree/usr" "$work/root/"

# dpkg-shlibdeps reads debian/control of a source package; give it a minimal one.
printf 'Source: zpng\n\nPackage: zpng\nArchitecture: %s\n' "$arch" >"$work/shlibs/debian/control"
objects=(-e"$work/root/usr/bin/zpng")
torchlib=$work/root/usr/lib/zpng/libzpng-torch.so
[ -f "$torchlib" ] && objects+=(-e"$torchlib")
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "${objects[@]}" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"
case $depends in *libtorch*) depends="$depends, libopenblas0" ;; esac

size=$(du -sk --exclude=DEBIAN "$work/root" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@DEPENDS@/$depends/" "$ROOT/packaging/debian/control.in" >"$work/root/DEBIAN/control"
install -m0755 "$ROOT/packaging/debian/postinst" "$ROOT/packaging/debian/postrm" "$work/root/DEBIAN/"

out=$DIST/zpng_${VERSION}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$work/root" "$out" >/dev/null
rm -rf "$work"
echo "$out"
