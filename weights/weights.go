// Package weights holds the models shipped with zpng: the safetensors files
// of this folder, embedded into the binary.
package weights

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// files is the whole folder: go:embed fails on a pattern that matches
// nothing, and "*" always matches README.md, also before any model exists.
//
//go:embed *
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

// Models returns the shipped model files in name order. The slices are
// shared: callers must not modify them.
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
	sort.Slice(ms, func(a, b int) bool { return ms[a].Name < ms[b].Name })
	return ms
}

// Card returns the model card (NAME.md) of a shipped model file, if any.
func Card(modelName string) (string, bool) {
	b, err := files.ReadFile(strings.TrimSuffix(modelName, ".safetensors") + ".md")
	return string(b), err == nil
}
