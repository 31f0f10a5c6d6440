package bench

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"

	"zpng/core"
)

// peers are the classical compressors at their strongest settings; each
// reads stdin and writes stdout, or names its files through a shell (zpaq
// and 7z make archives, and add an extension to a name without one).
var peers = map[string]Method{
	"gzip": {
		Name:     "gzip -9",
		Compress: []string{"gzip", "-9", "-n", "-c"}, Decompress: []string{"gzip", "-d", "-c"},
		Version: []string{"gzip", "--version"},
	},
	"bzip2": {
		Name:     "bzip2 -9",
		Compress: []string{"bzip2", "-9", "-c"}, Decompress: []string{"bzip2", "-d", "-c"},
		Version: []string{"bzip2", "--version"},
	},
	"xz": {
		Name:     "xz -9e",
		Compress: []string{"xz", "-9e", "-c"}, Decompress: []string{"xz", "-d", "-c"},
		Version: []string{"xz", "--version"},
	},
	"zstd": {
		Name:     "zstd -19 --long",
		Compress: []string{"zstd", "-q", "-19", "--long", "-c"}, Decompress: []string{"zstd", "-q", "-d", "--long", "-c"},
		Version: []string{"zstd", "--version"},
	},
	"brotli": {
		Name:     "brotli -q 11",
		Compress: []string{"brotli", "-q", "11", "-c"}, Decompress: []string{"brotli", "-d", "-c"},
		Version: []string{"brotli", "--version"},
	},
	// zpaq stores the file's name: it archives a copy called f in a
	// folder of its own and extracts it there.
	"zpaq": {
		Name: "zpaq -m5",
		Compress: shell(`d=$(mktemp -d) && cp "$1" "$d/f" && (cd "$d" && zpaq a a.zpaq f -m5 >/dev/null) && mv "$d/a.zpaq" "$2"; s=$?; rm -rf "$d"; exit $s`,
			"{in}", "{out}"),
		Decompress: shell(`d=$(mktemp -d) && cp "$1" "$d/a.zpaq" && (cd "$d" && zpaq x a.zpaq >/dev/null) && mv "$d/f" "$2"; s=$?; rm -rf "$d"; exit $s`,
			"{in}", "{out}"),
		Version: []string{"sh", "-c", "zpaq 2>&1 | head -1"},
	},
	"7z-ppmd": {
		Name:       "7z PPMd -mx=9",
		Compress:   shell(`7z a -bd -t7z -m0=PPMd -mx=9 -si "$1.7z" >/dev/null && mv "$1.7z" "$1"`, "{out}"),
		Decompress: []string{"7z", "x", "-so", "{in}"},
		Version:    []string{"sh", "-c", "7z 2>&1 | grep -m1 7-Zip"},
	},
}

// shell is the argv that runs script with sh, args as $1, $2, ….
func shell(script string, args ...string) []string {
	return append([]string{"sh", "-c", script, "sh"}, args...)
}

// Installed says whether the program that the peer called name runs is in PATH.
func Installed(name string) bool {
	tool := map[string]string{"7z-ppmd": "7z"}[name]
	if tool == "" {
		tool = name
	}
	_, err := exec.LookPath(tool)
	return err == nil
}

// XZ is the name of the xz peer, the usual speed baseline.
const XZ = "xz -9e"

// PeerNames lists the known peers.
func PeerNames() string {
	var names []string
	for n := range peers {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// Peer returns the classical compressor called name (gzip, bzip2, xz,
// zstd, brotli, zpaq or 7z-ppmd).
func Peer(name string) (Method, error) {
	m, ok := peers[name]
	if !ok {
		return Method{}, fmt.Errorf("unknown peer %q (have %s)", name, PeerNames())
	}
	return m, nil
}

// ZPNG returns the zpng command exe with --method method (and --model model
// unless it is ""), extra flags passed to both steps (engine, device).
func ZPNG(exe, method, model string, extra []string) Method {
	name := "zpng " + method
	c := []string{exe, "compress", "--method", method}
	if model != "" {
		name += "/" + model
		c = append(c, "--model", model)
	}
	c = append(c, extra...)
	c = append(c, "-o", "{out}", "--force", "{in}")
	d := append([]string{exe, "decompress"}, extra...)
	d = append(d, "-o", "{out}", "--force", "{in}")
	return Method{Name: name, Compress: c, Decompress: d, Note: describe}
}

// describe says what a ZPNG image holds: the method auto chose, and for
// methods hybrid and neural the model, engine, device and embedded weights.
func describe(png string) string {
	info, err := core.Inspect(png)
	if err != nil {
		return "inspect: " + err.Error()
	}
	if !core.RunsModel(info.Method) || info.Meta == nil {
		return info.Method
	}
	m, err := core.ParseNeuralMeta(info.Meta)
	if err != nil {
		return info.Method
	}
	s := fmt.Sprintf("%s %s", info.Method, m.Model)
	if m.Embedded != "" && m.Embedded != "none" {
		s += fmt.Sprintf(", %s weights %d B", m.Embedded, m.EmbeddedBytes)
	}
	return s
}
