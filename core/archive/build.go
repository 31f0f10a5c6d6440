package archive

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"zpng/codec"
)

// DefaultMaxEntries is the most entries Build takes and Extract restores
// unless told otherwise.
const DefaultMaxEntries = 1 << 20

// Tree is a tree read from disk: its entries and its content stream.
type Tree struct {
	Entries []Entry
	Data    []byte   // the files' bytes in entry order
	Notes   []string // what was not kept (setuid bits)
}

// Build reads the tree of paths: Scan, then Read.
func Build(paths []string) (*Tree, error) {
	l, err := Scan(paths)
	if err != nil {
		return nil, err
	}
	return l.Read(nil)
}

// Listing is a tree's entries as Scan found them, before its files are read.
type Listing struct {
	entries []Entry
	sources []string // the file on disk of each entry ("" for all but files)
	setuid  int      // entries whose setuid, setgid or sticky bit was dropped
	total   int64
}

// Size is the bytes of the files as Scan found them.
func (l *Listing) Size() int64 { return l.total }

// Scan lists a tree. One folder becomes the root, with its contents
// inside; several paths (or one file) become the entries of a new root
// folder, each under its base name. The paths named are followed when they
// are symbolic links; links inside a folder are stored as links. A tree
// holds folders, regular files and symbolic links: a device, FIFO or socket
// is an error, and so is a name that is not valid UTF-8.
func Scan(paths []string) (*Listing, error) {
	b := &Listing{}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no files to archive")
	}
	if len(paths) == 1 {
		st, err := os.Stat(paths[0])
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			b.add(Entry{Kind: Folder, Mode: st.Mode().Perm(), ModTime: st.ModTime()}, st.Mode(), paths[0])
			if err := b.walk(paths[0], ""); err != nil {
				return nil, err
			}
			return b, nil
		}
	}
	root := Entry{Kind: Folder, Mode: 0o755}
	b.add(root, 0, "")
	seen := map[string]string{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(abs)
		if err := checkPath(name); err != nil {
			return nil, fmt.Errorf("%s cannot be stored under the name %q: %v", p, name, err)
		}
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s and %s have the same name %q; a tree holds each name once", prev, p, name)
		}
		seen[name] = p
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if err := b.visit(p, name, st); err != nil {
			return nil, err
		}
		// The new root takes the time of its newest entry, so that the
		// same inputs give the same image.
		if st.ModTime().After(b.entries[0].ModTime) {
			b.entries[0].ModTime = st.ModTime()
		}
	}
	return b, nil
}

func (b *Listing) add(e Entry, mode fs.FileMode, src string) {
	if mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		b.setuid++
	}
	b.entries = append(b.entries, e)
	b.sources = append(b.sources, src)
}

// walk adds the contents of the folder dir, whose path in the tree is rel.
func (b *Listing) walk(dir, rel string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		name := de.Name()
		if rel != "" {
			name = rel + "/" + name
		}
		if err := b.visit(p, name, st); err != nil {
			return err
		}
	}
	return nil
}

// visit adds the file, folder or link at p under the tree path rel.
func (b *Listing) visit(p, rel string, st fs.FileInfo) error {
	if !utf8.ValidString(rel) {
		return fmt.Errorf("%s: the name is not valid UTF-8; rename it to archive it", p)
	}
	if len(rel) > MaxPathLen {
		return fmt.Errorf("%s: a path of %d bytes in the tree (at most %d)", p, len(rel), MaxPathLen)
	}
	if len(b.entries) >= DefaultMaxEntries {
		return fmt.Errorf("the tree has more than %d entries", DefaultMaxEntries)
	}
	e := Entry{Path: rel, Mode: st.Mode().Perm(), ModTime: st.ModTime()}
	mode := st.Mode()
	switch {
	case mode.IsRegular():
		e.Kind, e.Size = File, st.Size()
		if b.total += e.Size; b.total > codec.MaxOriginalSize {
			return fmt.Errorf("the files hold more than %d bytes, the most an image holds", int64(codec.MaxOriginalSize))
		}
		b.add(e, mode, p)
	case mode.IsDir():
		e.Kind = Folder
		b.add(e, mode, "")
		return b.walk(p, rel)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		if !utf8.ValidString(target) || len(target) > MaxPathLen || target == "" {
			return fmt.Errorf("%s: the link's target is not UTF-8 of at most %d bytes", p, MaxPathLen)
		}
		// A link's mode and time are not kept (most systems ignore them):
		// fixed values keep the image the same for the same tree.
		e.Kind, e.Mode, e.ModTime, e.Target = Symlink, 0o777, time.Unix(0, 0), filepath.ToSlash(target)
		b.add(e, 0, "")
	default:
		return fmt.Errorf("%s is %s; a tree holds files, folders and symbolic links only", p, typeName(mode))
	}
	return nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// Read sorts the entries by path and reads the files in that order.
// progress, if set, is told the bytes read so far.
func (b *Listing) Read(progress func(done int64)) (*Tree, error) {
	order := make([]int, len(b.entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order[1:], func(x, y int) int { return strings.Compare(b.entries[x].Path, b.entries[y].Path) })
	t := &Tree{Entries: make([]Entry, 0, len(order))}
	var data bytes.Buffer
	data.Grow(int(b.total))
	for _, i := range order {
		e := b.entries[i]
		if e.Kind == File {
			n, err := readInto(&data, b.sources[i])
			if err != nil {
				return nil, err
			}
			e.Size = n // what was read, should the file have changed
			if progress != nil {
				progress(int64(data.Len()))
			}
		}
		if len(t.Entries) > 0 && e.Path == t.Entries[len(t.Entries)-1].Path {
			return nil, fmt.Errorf("%q appears twice in the tree", e.Path)
		}
		t.Entries = append(t.Entries, e)
	}
	if int64(data.Len()) > codec.MaxOriginalSize {
		return nil, fmt.Errorf("the files hold more than %d bytes, the most an image holds", int64(codec.MaxOriginalSize))
	}
	t.Data = data.Bytes()
	if b.setuid > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("setuid, setgid and sticky bits are not stored (%d entries had them)", b.setuid))
	}
	return t, nil
}

func readInto(buf *bytes.Buffer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(buf, f)
}
