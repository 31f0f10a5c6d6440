package bench

import (
	"fmt"
	"sort"
	"strings"

	"zpng/core"
)

// peers are the classical compressors at their strongest settings; each
// reads stdin and writes stdout.
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
// zstd or brotli).
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
