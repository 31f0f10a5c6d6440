package core

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"zpng/codec"
	"zpng/core/archive"
)

// ErrTree: an image of a tree where one file is wanted (standard output).
var ErrTree = errors.New("the image holds a folder, not one file")

// withTree returns sections with the TREE section tree after META (or
// first when there is no META), or sections itself when tree is nil.
func withTree(sections []codec.Section, tree []byte) []codec.Section {
	if tree == nil {
		return sections
	}
	at := 0
	if len(sections) > 0 && sections[0].Type == codec.SectionMeta {
		at = 1
	}
	out := append([]codec.Section{}, sections[:at]...)
	out = append(out, codec.Section{Type: codec.SectionTree, Data: tree})
	return append(out, sections[at:]...)
}

// treeOf returns the checked entries of an image of a tree: a valid TREE
// section whose files add up to the original size.
func treeOf(c *codec.Container) ([]archive.Entry, error) {
	b, ok := c.Section(codec.SectionTree)
	if !ok {
		return nil, fmt.Errorf("%w: no TREE section", codec.ErrCorrupt)
	}
	entries, err := archive.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	if n := archive.ContentSize(entries); n != c.OriginalSize {
		return nil, fmt.Errorf("%w: the TREE's files hold %d bytes, the header says %d", codec.ErrCorrupt, n, c.OriginalSize)
	}
	return entries, nil
}

// decompressTree restores the tree of image c (read from input) into a
// new folder: output, or the stored root name in output's folder or the
// image's. It checks the entries and limits first, extracts into a
// temporary folder beside the target as the payload decodes, checks the
// SHA-256, and only then renames the folder into place. With opt.Force an
// existing target is replaced; without, it is an error. On any error
// nothing is left.
func decompressTree(ctx context.Context, j *job, c *codec.Container, m method, input, output string, size int64, start time.Time) (*Result, error) {
	entries, err := treeOf(c)
	if err != nil {
		return nil, err
	}
	output, notes := restoreTarget(c, input, output)
	exists, err := checkTreeOutput(input, output, j.opt.Force)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(output), "."+filepath.Base(output)+".tmp")
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			archive.RemoveAll(tmp)
		}
	}()
	x, err := archive.NewExtractor(tmp, entries, j.opt.Tree)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", input, err)
	}
	defer x.Close()
	notes = append(notes, x.Notes...)

	j.progress.begin("decompress "+m.name(), c.OriginalSize)
	h := sha256.New()
	cw := &countWriter{}
	if err := m.decode(ctx, j, c, io.MultiWriter(x, h, cw)); err != nil {
		return nil, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if cw.n != c.OriginalSize || sum != c.SHA256 {
		return nil, fmt.Errorf("%w: the restored files do not match the SHA-256 in the header", codec.ErrCorrupt)
	}
	if err := x.Finish(); err != nil {
		return nil, err
	}
	if err := x.Close(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := publishTree(tmp, output, exists); err != nil {
		return nil, err
	}
	done = true
	if exists {
		notes = append(notes, "replaced the existing "+output)
	}
	j.progress.finish()
	return &Result{
		Input: input, Output: output, InputSize: size, OutputSize: c.OriginalSize,
		Method: m.name(), SHA256: sum, Verified: true, Elapsed: time.Since(start),
		BitsPerByte: bitsPerByte(size, c.OriginalSize), Notes: notes, Entries: len(entries) - 1,
	}, nil
}

// checkTreeOutput refuses an existing output unless force is set, and
// with force refuses to replace a folder that holds the image itself. It
// reports whether output exists.
func checkTreeOutput(input, output string, force bool) (bool, error) {
	if _, err := os.Lstat(output); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !force {
		return true, fmt.Errorf("%w: %s (use --force to replace it)", ErrExists, output)
	}
	in, err1 := filepath.Abs(input)
	out, err2 := filepath.Abs(output)
	if err1 != nil || err2 != nil {
		return true, errors.Join(err1, err2)
	}
	if in == out || strings.HasPrefix(in, out+string(filepath.Separator)) {
		return true, fmt.Errorf("%s holds the image itself; restore it elsewhere (-o)", output)
	}
	return true, nil
}

// publishTree renames the finished folder tmp to output. An existing
// output (allowed with --force) is first moved aside and removed once the
// new folder is in place. A folder that appears at output meanwhile is
// never merged with: the rename fails.
func publishTree(tmp, output string, replace bool) error {
	if replace {
		old, err := os.MkdirTemp(filepath.Dir(output), "."+filepath.Base(output)+".old")
		if err != nil {
			return err
		}
		aside := filepath.Join(old, "old")
		if err := os.Rename(output, aside); err != nil {
			os.Remove(old)
			return err
		}
		if err := os.Rename(tmp, output); err != nil {
			os.Rename(aside, output)
			os.Remove(old)
			return err
		}
		return archive.RemoveAll(old)
	}
	if _, err := os.Lstat(output); err == nil {
		return fmt.Errorf("%w: %s (use --force to replace it)", ErrExists, output)
	}
	if err := os.Rename(tmp, output); err != nil {
		if _, serr := os.Lstat(output); serr == nil {
			return fmt.Errorf("%w: %s (use --force to replace it)", ErrExists, output)
		}
		return err
	}
	return nil
}

// CompressTo is CompressSource with the image written to w once it is
// checked. The image is made in a temporary folder (os.TempDir) and
// removed after; Result.Output is "".
func CompressTo(ctx context.Context, source Source, w io.Writer, opt Options) (*Result, error) {
	if len(source.Paths) > 1 && source.Name == "" {
		source.Name = "files"
	}
	return toWriter(w, func(dir string) (*Result, error) {
		return CompressSource(ctx, source, filepath.Join(dir, "image"+DefaultSuffix), opt)
	})
}

// DecompressTo writes the original file of a ZPNG image to w once it has
// been restored to a temporary file (os.TempDir) and checked against the
// stored SHA-256. An image of a tree is refused (ErrTree) before anything
// is decoded. Result.Output is "".
func DecompressTo(ctx context.Context, input string, w io.Writer, opt Options) (*Result, error) {
	info, err := Inspect(input)
	if err != nil {
		return nil, err
	}
	if info.Tree != nil {
		return nil, fmt.Errorf("%s: %w (%d entries); restore it into a folder rather than to standard output", input, ErrTree, len(info.Tree)-1)
	}
	return toWriter(w, func(dir string) (*Result, error) {
		return Decompress(ctx, input, filepath.Join(dir, "file"), opt)
	})
}

// toWriter runs job with a new temporary folder for its output file and
// copies that file to w.
func toWriter(w io.Writer, job func(dir string) (*Result, error)) (*Result, error) {
	dir, err := os.MkdirTemp("", "zpng-")
	if err != nil {
		return nil, err
	}
	defer archive.RemoveAll(dir)
	r, err := job(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(r.Output)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return nil, err
	}
	r.Output = ""
	return r, nil
}
