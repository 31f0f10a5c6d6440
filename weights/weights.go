// Package weights holds the models shipped with zpng: the safetensors files
// at the top of this folder and their cards, embedded into the binary.
// Subfolders (superseded/) are not embedded.
package weights

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// files is the models, their cards and README.md at the top of the folder;
// patterns that name file types leave out scripts and subfolders.
//
//go:embed *.safetensors *.md
var files embed.FS

// Model is one shipped model file.
type Model struct {
	Name string // file name, e.g. "small.safetensors"
	Data []byte
}

var (
	once   sync.Once
	models []Model
)

// Models returns the shipped model files in name order, numbers by value
// (small-v9 before small-v10). The slices are shared: callers must not
// modify them.
func Models() []Model {
	once.Do(func() { models = load() })
	return models
}

func load() []Model {
	var ms []Model
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil // cannot happen for an embedded folder
	}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".safetensors" {
			continue
		}
		data, err := files.ReadFile(e.Name())
		if err != nil {
			continue
		}
		ms = append(ms, Model{Name: e.Name(), Data: data})
	}
	sort.Slice(ms, func(a, b int) bool { return nameLess(ms[a].Name, ms[b].Name) })
	return ms
}

// nameLess orders file names with the numbers in them by value, so that
// small-v10 comes after small-v9: the last file of a preset serves it.
func nameLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

// digits is the length of the run of ASCII digits that s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n
}

// Card returns the model card (NAME.md) of a shipped model file, if any.
func Card(modelName string) (string, bool) {
	b, err := files.ReadFile(strings.TrimSuffix(modelName, ".safetensors") + ".md")
	return string(b), err == nil
}
