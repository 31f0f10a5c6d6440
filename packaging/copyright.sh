#!/usr/bin/env bash
# Writes the Debian copyright file (machine-readable format 1.0) for a
# built zpng: ZPNG itself, then each Go module compiled into the binary
# (as `go version -m` lists them) with the license its LICENSE file names.
#
# usage: packaging/copyright.sh ZPNG_BINARY > copyright
source "$(dirname "$0")/lib.sh"

bin=${1:?usage: copyright.sh ZPNG_BINARY}
modcache=$("$GO" env GOMODCACHE)

# license_of names the license in a module's LICENSE file by its words.
license_of() {
	local f
	f=$(ls "$1"/LICENSE* "$1"/LICENCE* "$1"/COPYING* 2>/dev/null | head -1)
	[ -n "$f" ] || { echo "unknown"; return; }
	if grep -q "Freetype-Go" "$f"; then echo "FTL or GPL-2+"
	elif grep -q "Creative Commons Attribution 4.0" "$f"; then echo "CC-BY-4.0"
	elif grep -q "Apache License" "$f"; then echo "Apache-2.0"
	elif grep -q "Mozilla Public License" "$f"; then echo "MPL-2.0"
	elif grep -q "Permission is hereby granted, free of charge" "$f"; then echo "Expat"
	elif grep -q "Permission to use, copy, modify, and/or distribute" "$f"; then echo "ISC"
	elif grep -q "Redistribution and use in source and binary forms" "$f"; then
		if grep -q "Neither the name\|names of its contributors" "$f"; then echo "BSD-3-Clause"; else echo "BSD-2-Clause"; fi
	else echo "unknown"
	fi
}

cat <<'HEAD'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: zpng
Comment: ZPNG's authors have not yet chosen a license for ZPNG's own code
 and models; until they do, no license is granted for them. The Go modules
 below are compiled into /usr/bin/zpng under their own licenses, whose full
 texts are in each module's source.

Files: *
Copyright: 2026 the ZPNG developers
License: none-granted
 No license has been chosen yet.
HEAD

# A dependency replaced by a folder of this repository (`=> ./…`, such as
# early.zpng/langenv) is ZPNG's own code, covered by "Files: *" above.
"$GO" version -m "$bin" | awk '
	$1 == "dep" { if (mod != "") print mod, ver; mod = $2; ver = $3 }
	$1 == "=>" && $2 ~ /^\./ { mod = "" }
	END { if (mod != "") print mod, ver }' | while read -r mod ver; do
	# The module cache escapes capital letters as !lower.
	dir=$modcache/$(echo "$mod" | sed 's/[A-Z]/!\L&/g')@$ver
	printf '\nFiles: (compiled in) %s %s\nCopyright: the authors of %s\nLicense: %s\n' \
		"$mod" "$ver" "$mod" "$(license_of "$dir")"
done
