//go:build !notorch

package train

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Corpus is a training corpus read into memory: the files concatenated for
// training, with the last part of each file held out for validation.
type Corpus struct {
	Train  []byte
	Starts []int // offsets in Train where a file begins (sorted)
	Val    []byte
	Files  int
	Desc   string // a one-line description for model metadata
}

// ValFraction is the share of every file held out for validation (its tail).
const ValFraction = 0.01

// skipNames are the bookkeeping files of corpus-train.sh: checksums and
// version lists, not text the model should learn.
var skipNames = map[string]bool{"MANIFEST.tsv": true, "VERSIONS.txt": true}

// LoadCorpus reads every regular file under dir (symbolic links are not
// followed) in lexical order. It refuses anything under a "shared/bench"
// directory: the benchmark must never be trained on.
func LoadCorpus(dir string) (*Corpus, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if isBenchmark(abs) {
		return nil, fmt.Errorf("train: %s is the benchmark corpus; refusing to train on it", dir)
	}
	var paths []string
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !skipNames[d.Name()] {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("train: reading corpus: %w", err)
	}
	sort.Strings(paths)
	c := &Corpus{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("train: reading corpus: %w", err)
		}
		if len(data) == 0 {
			continue
		}
		c.add(data)
	}
	if len(c.Train) < 2 {
		return nil, fmt.Errorf("train: corpus %s holds no usable data", dir)
	}
	if len(c.Val) == 0 {
		return nil, errors.New("train: corpus too small to hold out validation data (files need ≥ 100 bytes)")
	}
	c.Desc = fmt.Sprintf("%s: %d files, %d bytes (%d train, %d validation = last %g%% of each file)",
		filepath.Base(abs), c.Files, len(c.Train)+len(c.Val), len(c.Train), len(c.Val), ValFraction*100)
	return c, nil
}

// NewCorpus builds a corpus from in-memory files, split like LoadCorpus.
func NewCorpus(files [][]byte, desc string) *Corpus {
	c := &Corpus{Desc: desc}
	for _, f := range files {
		if len(f) > 0 {
			c.add(f)
		}
	}
	return c
}

func (c *Corpus) add(data []byte) {
	nval := int(float64(len(data)) * ValFraction)
	c.Starts = append(c.Starts, len(c.Train))
	c.Train = append(c.Train, data[:len(data)-nval]...)
	c.Val = append(c.Val, data[len(data)-nval:]...)
	c.Files++
}

func isBenchmark(abs string) bool {
	parts := strings.Split(filepath.ToSlash(abs), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "shared" && parts[i+1] == "bench" {
			return true
		}
	}
	return false
}
