# Shared by the packaging scripts (sourced, not run): paths, the version,
# and the fyne tool.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIST=$ROOT/dist
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
FYNE_TOOL_VERSION=v1.7.4
APP_ID=io.zpng.app

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# FyneApp.toml is the one place that names the version.
VERSION=$(sed -n 's/^ *Version *= *"\([^"]*\)".*/\1/p' "$ROOT/FyneApp.toml")
[ -n "$VERSION" ] || die "no Version in $ROOT/FyneApp.toml"

# fyne_tool prints the path of fyne.io/tools' fyne command, building it into
# dist/tools the first time (for this machine, whatever GOOS says).
fyne_tool() {
	local bin=$DIST/tools/fyne-$FYNE_TOOL_VERSION
	if [ ! -x "$bin" ]; then
		mkdir -p "$DIST/tools"
		env -u GOOS -u GOARCH -u CC -u CXX GOBIN="$DIST/tools" \
			nice "$GO" install "fyne.io/tools/cmd/fyne@$FYNE_TOOL_VERSION" >&2
		mv "$DIST/tools/fyne" "$bin"
	fi
	echo "$bin"
}

# stage_fyne_metadata copies FyneApp.toml into the folder $1, where fyne
# package may change it: it adds 1 to Build and rewrites the file each time.
stage_fyne_metadata() {
	mkdir -p "$1"
	cp "$ROOT/FyneApp.toml" "$1/FyneApp.toml"
}
