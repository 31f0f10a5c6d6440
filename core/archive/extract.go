package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"zpng/codec"
)

// Options steer Extract.
type Options struct {
	// MaxEntries is the most entries, the root included, that a tree may
	// have; 0 means DefaultMaxEntries.
	MaxEntries int
	// MaxBytes is the most bytes its files may hold; 0 means no limit but
	// the free space of the folder's file system, which is always checked.
	MaxBytes int64
	// FoldCase refuses names that differ only in case. Extract sets it
	// anyway where the folder's file system ignores case.
	FoldCase bool
}

// ErrRefused marks a tree that Extract will not write: over a limit, or
// with names that collide on this file system.
var ErrRefused = errors.New("tree refused")

// Extractor writes a tree into an empty folder as its content stream
// arrives through Write. Nothing it creates can lie outside the folder:
// every entry's parent is a folder it created itself, files are created
// exclusively, links are made last and never followed, and all of it goes
// through an os.Root of the folder.
type Extractor struct {
	root    *os.Root
	entries []Entry // with the paths they restore under
	files   []int   // indexes of the file entries, in stream order
	next    int     // the next of files to create
	cur     *os.File
	curE    *Entry
	left    int64 // bytes still due to cur
	Notes   []string
}

// NewExtractor checks entries (as Unmarshal returns them) against the
// limits and this file system before anything is written, makes their
// names safe (CleanName, component by component), creates the folders and
// returns the extractor for the content stream. dir must be an empty
// folder; it becomes the tree's root.
func NewExtractor(dir string, entries []Entry, opt Options) (*Extractor, error) {
	if opt.MaxEntries == 0 {
		opt.MaxEntries = DefaultMaxEntries
	}
	if len(entries) > opt.MaxEntries {
		return nil, fmt.Errorf("%w: it has %d entries; the limit is %d", ErrRefused, len(entries), opt.MaxEntries)
	}
	size := ContentSize(entries)
	if opt.MaxBytes > 0 && size > opt.MaxBytes {
		return nil, fmt.Errorf("%w: its files hold %d bytes; the limit is %d", ErrRefused, size, opt.MaxBytes)
	}
	if free, ok := freeSpace(dir); ok && size > free {
		return nil, fmt.Errorf("%w: its files hold %d bytes; %s has %d bytes free", ErrRefused, size, filepath.Dir(dir), free)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	x := &Extractor{root: root}
	if err := x.plan(entries, opt.FoldCase || x.ignoresCase()); err != nil {
		root.Close()
		return nil, err
	}
	for _, e := range x.entries[1:] {
		if e.Kind == Folder {
			if err := root.Mkdir(filepath.FromSlash(e.Path), 0o700); err != nil {
				root.Close()
				return nil, err
			}
		}
	}
	return x, nil
}

// plan makes the names safe and refuses names that collide once cleaned
// (or, with foldCase, that differ only in case).
func (x *Extractor) plan(entries []Entry, foldCase bool) error {
	if len(entries) == 0 || entries[0].Path != "" || entries[0].Kind != Folder {
		return fmt.Errorf("%w: a tree starts with its root folder", codec.ErrCorrupt)
	}
	x.entries = make([]Entry, len(entries))
	x.entries[0] = entries[0]
	byPath := map[string]string{}        // restored path → stored path
	cleaned := map[string]string{"": ""} // stored path → restored path
	var changed []string
	for i, e := range entries[1:] {
		parent, name := "", e.Path
		if k := strings.LastIndexByte(e.Path, '/'); k >= 0 {
			parent, name = e.Path[:k], e.Path[k+1:]
		}
		safe := CleanName(name)
		if safe == "" || len(safe) > MaxNameLen {
			return fmt.Errorf("%w: %q has no name usable on this file system", ErrRefused, e.Path)
		}
		p := safe
		if dir := cleaned[parent]; dir != "" {
			p = dir + "/" + safe
		}
		if safe != name {
			changed = append(changed, fmt.Sprintf("%q as %q", e.Path, p))
		}
		key := p
		if foldCase {
			key = foldKey(p)
		}
		if other, ok := byPath[key]; ok {
			if cleaned[other] != p {
				return fmt.Errorf("%w: %q and %q differ only in case, and this file system ignores case", ErrRefused, other, e.Path)
			}
			return fmt.Errorf("%w: %q and %q would both restore as %q", ErrRefused, other, e.Path, p)
		}
		byPath[key] = e.Path
		cleaned[e.Path] = p
		e.Path = p
		x.entries[i+1] = e
		if e.Kind == File {
			x.files = append(x.files, i+1)
		}
	}
	if len(changed) > 0 {
		more := ""
		if len(changed) > 3 {
			more = fmt.Sprintf(" and %d more", len(changed)-3)
			changed = changed[:3]
		}
		x.Notes = append(x.Notes, "names made safe for this file system: "+strings.Join(changed, ", ")+more)
	}
	return nil
}

// ignoresCase reports whether the root's file system treats names that
// differ only in case as one.
func (x *Extractor) ignoresCase() bool {
	const probe = ".zpng-case-probe"
	f, err := x.root.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false
	}
	f.Close()
	defer x.root.Remove(probe)
	_, err = x.root.Lstat(strings.ToUpper(probe))
	return err == nil
}

// Write writes the next bytes of the content stream into the files.
func (x *Extractor) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if x.cur == nil {
			if err := x.openNext(); err != nil {
				return n, err
			}
		}
		k := int(min(int64(len(p)), x.left))
		w, err := x.cur.Write(p[:k])
		n += w
		if err != nil {
			return n, err
		}
		p, x.left = p[k:], x.left-int64(k)
		if x.left == 0 {
			if err := x.closeFile(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// openNext creates the next file that has bytes to come, and the empty
// ones before it.
func (x *Extractor) openNext() error {
	for x.cur == nil {
		if x.next == len(x.files) {
			return fmt.Errorf("%w: the content stream is longer than the tree's files", codec.ErrCorrupt)
		}
		if err := x.create(); err != nil {
			return err
		}
	}
	return nil
}

// create creates the next file; an empty one is complete at once.
func (x *Extractor) create() error {
	e := &x.entries[x.files[x.next]]
	x.next++
	f, err := x.root.OpenFile(filepath.FromSlash(e.Path), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	x.cur, x.curE, x.left = f, e, e.Size
	if e.Size == 0 {
		return x.closeFile()
	}
	return nil
}

// closeFile closes the current file and gives it its mode and time.
func (x *Extractor) closeFile() error {
	f, e := x.cur, x.curE
	x.cur, x.curE = nil, nil
	if err := f.Close(); err != nil {
		return err
	}
	return x.setAttrs(e)
}

func (x *Extractor) setAttrs(e *Entry) error {
	name := filepath.FromSlash(e.Path)
	if name == "" {
		name = "."
	}
	if err := x.root.Chmod(name, e.Mode); err != nil {
		return err
	}
	return x.root.Chtimes(name, e.ModTime, e.ModTime)
}

// Finish checks that the whole content stream arrived, creates the files
// still due (empty ones), the links, and gives the folders their modes and
// times, the innermost first.
func (x *Extractor) Finish() error {
	if x.cur != nil {
		return fmt.Errorf("%w: the content stream ends within %s", codec.ErrCorrupt, x.curE.Path)
	}
	for x.next < len(x.files) {
		if x.entries[x.files[x.next]].Size > 0 {
			return fmt.Errorf("%w: the content stream ends before %s", codec.ErrCorrupt, x.entries[x.files[x.next]].Path)
		}
		if err := x.create(); err != nil {
			return err
		}
	}
	for _, e := range x.entries {
		if e.Kind == Symlink {
			if err := x.root.Symlink(filepath.FromSlash(e.Target), filepath.FromSlash(e.Path)); err != nil {
				return err
			}
		}
	}
	for i := len(x.entries) - 1; i >= 0; i-- {
		if e := &x.entries[i]; e.Kind == Folder {
			if err := x.setAttrs(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close releases the folder and any open file; after a failure, the
// caller removes the folder (RemoveAll).
func (x *Extractor) Close() error {
	if x.cur != nil {
		x.cur.Close()
		x.cur = nil
	}
	return x.root.Close()
}

// Entries returns the entries with the paths they restore under.
func (x *Extractor) Entries() []Entry { return x.entries }

// RemoveAll removes the folder at path and everything in it, also where
// restored modes made a folder read-only.
func RemoveAll(path string) error {
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}
