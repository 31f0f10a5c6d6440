#!/usr/bin/env bash
# Builds dist/zpng_VERSION_ARCH.deb from the tree that packaging/tarxz.sh
# left in dist/linux/zpng: /usr/bin/zpng (the shipped models are inside it,
# embedded by package weights), /usr/lib/zpng/libzpng-torch.so (libtorch's
# side, which zpng loads for the fine-tune, --engine torch, CUDA and
# training), the desktop entry, the MIME type and the icon, with maintainer
# scripts that refresh the desktop's caches; and the copyright, changelog
# and manual page (packaging/copyright.sh, packaging/debian/changelog,
# packaging/manpage).
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

# /usr/share/doc/zpng: copyright, changelog; the manual page, from the
# command's own help.
doc=$work/root/usr/share/doc/zpng
man=$work/root/usr/share/man/man1
install -d -m0755 "$doc" "$man"
top=$(sed -n '1s/^zpng (\([^)]*\)).*/\1/p' "$ROOT/packaging/debian/changelog")
[ "$top" = "$VERSION" ] || die "packaging/debian/changelog begins with $top, not $VERSION (FyneApp.toml)"
gzip -9n <"$ROOT/packaging/debian/changelog" >"$doc/changelog.gz"
"$ROOT/packaging/copyright.sh" "$work/root/usr/bin/zpng" >"$doc/copyright"
if grep -q '^License: unknown' "$doc/copyright"; then
	die "a compiled-in module has a license copyright.sh does not know:"$'\n'"$(grep -B2 '^License: unknown' "$doc/copyright")"
fi
(cd "$ROOT" && "$GO" run ./packaging/manpage "$work/root/usr/bin/zpng" "$VERSION") | gzip -9n >"$man/zpng.1.gz"
chmod 0644 "$doc/changelog.gz" "$doc/copyright" "$man/zpng.1.gz"

size=$(du -sk --exclude=DEBIAN "$work/root" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@DEPENDS@/$depends/" "$ROOT/packaging/debian/control.in" >"$work/root/DEBIAN/control"
install -m0755 "$ROOT/packaging/debian/postinst" "$ROOT/packaging/debian/postrm" "$work/root/DEBIAN/"

out=$DIST/zpng_${VERSION}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$work/root" "$out" >/dev/null
rm -rf "$work"
if command -v lintian >/dev/null; then
	# Lintian's findings are shown, not fatal: some concern Debian's own
	# archive (a signed changes file, a Debian maintainer).
	lintian --tag-display-limit 0 "$out" >&2 || true
else
	echo "deb.sh: lintian is not installed; the package was not linted" >&2
fi
echo "$out"
