// Package archive turns a tree of files, folders and symbolic links into
// the two parts of a ZPNG tree image and back: the entry list of the TREE
// section (codec/FORMAT.md section 14) and the content stream, the files'
// bytes one after another, which the image codes like any single file.
// Build reads a tree from disk; Extract writes one into a new folder,
// refusing anything that could write outside it.
package archive

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"zpng/codec"
)

// Kind is what an entry is.
type Kind uint8

const (
	Folder  Kind = 0
	File    Kind = 1
	Symlink Kind = 2
)

func (k Kind) String() string {
	switch k {
	case Folder:
		return "folder"
	case File:
		return "file"
	case Symlink:
		return "link"
	}
	return fmt.Sprintf("kind-%d", uint8(k))
}

// Limits of the TREE section (FORMAT.md section 14).
const (
	MaxEntries   = 1 << 24 // entries, the root included
	MaxPathLen   = 4096    // bytes of a path or a link target
	MaxNameLen   = 255     // bytes of one path component
	maxModTimeNs = 999_999_999
)

// Entry is one folder, file or symbolic link of a tree.
type Entry struct {
	// Path is slash-separated and relative to the tree's root; "" is the
	// root itself, always the first entry.
	Path    string
	Kind    Kind
	Mode    fs.FileMode // permission bits only (0o777 at most)
	ModTime time.Time
	Size    int64  // a file's bytes in the content stream
	Target  string // a link's target, as stored (never followed)
}

// Marshal encodes entries as a TREE section. The entries must be valid as
// Unmarshal checks them: the root first, then paths in increasing byte order.
func Marshal(entries []Entry) []byte {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(entries)))
	prev := ""
	for _, e := range entries {
		b = append(b, byte(e.Kind))
		b = binary.AppendUvarint(b, uint64(e.Mode.Perm()))
		b = binary.AppendVarint(b, e.ModTime.Unix())
		b = binary.AppendUvarint(b, uint64(e.ModTime.Nanosecond()))
		shared := commonPrefix(prev, e.Path)
		b = binary.AppendUvarint(b, uint64(shared))
		b = appendString(b, e.Path[shared:])
		switch e.Kind {
		case File:
			b = binary.AppendUvarint(b, uint64(e.Size))
		case Symlink:
			b = appendString(b, e.Target)
		}
		prev = e.Path
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Unmarshal decodes and checks a TREE section: every field in range, the
// root first, paths in strictly increasing byte order, each made of
// components that are not empty, "." or "..", and each entry's parent a
// folder listed before it. So no entry can name a place outside the root
// or one reached through a link. Errors wrap codec.ErrCorrupt.
func Unmarshal(b []byte) ([]Entry, error) {
	d := decoder{b: b}
	n := d.uvarint("entry count")
	if d.err == nil && (n < 1 || n > MaxEntries) {
		d.fail("%d entries (1 to %d)", n, MaxEntries)
	}
	var entries []Entry
	folders := map[string]bool{}
	prev := ""
	var total int64
	for i := uint64(0); d.err == nil && i < n; i++ {
		e, err := d.entry(prev)
		if err != nil {
			return nil, fmt.Errorf("%w: TREE entry %d: %v", codec.ErrCorrupt, i, err)
		}
		if err := checkPlace(e, i, prev, folders); err != nil {
			return nil, fmt.Errorf("%w: TREE entry %d (%q): %v", codec.ErrCorrupt, i, e.Path, err)
		}
		if e.Kind == Folder {
			folders[e.Path] = true
		}
		if total += e.Size; total > codec.MaxOriginalSize {
			return nil, fmt.Errorf("%w: TREE: the files hold more than %d bytes", codec.ErrCorrupt, int64(codec.MaxOriginalSize))
		}
		entries = append(entries, e)
		prev = e.Path
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: TREE section: %v", codec.ErrCorrupt, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: TREE section: %d bytes after the last entry", codec.ErrCorrupt, len(d.b))
	}
	return entries, nil
}

// checkPlace checks entry i's path against the entries before it.
func checkPlace(e Entry, i uint64, prev string, folders map[string]bool) error {
	if i == 0 {
		if e.Path != "" || e.Kind != Folder {
			return fmt.Errorf("the first entry must be the root folder")
		}
		return nil
	}
	if err := checkPath(e.Path); err != nil {
		return err
	}
	if e.Path <= prev {
		return fmt.Errorf("not after %q (entries are sorted and unique)", prev)
	}
	parent := ""
	if k := strings.LastIndexByte(e.Path, '/'); k >= 0 {
		parent = e.Path[:k]
	}
	if !folders[parent] {
		return fmt.Errorf("its parent %q is not a folder listed before it", parent)
	}
	return nil
}

// checkPath checks a non-root path: valid UTF-8, at most MaxPathLen bytes,
// slash-separated components that are not empty, "." or "..", without NUL
// and of at most MaxNameLen bytes. (An absolute path has an empty first
// component.)
func checkPath(p string) error {
	if p == "" || len(p) > MaxPathLen || !utf8.ValidString(p) {
		return fmt.Errorf("path must be 1 to %d bytes of UTF-8", MaxPathLen)
	}
	for c := range strings.SplitSeq(p, "/") {
		switch {
		case c == "":
			return fmt.Errorf("empty path component (an absolute path or a double slash)")
		case c == "." || c == "..":
			return fmt.Errorf("path component %q", c)
		case strings.IndexByte(c, 0) >= 0:
			return fmt.Errorf("NUL byte in the path")
		case len(c) > MaxNameLen:
			return fmt.Errorf("a name of %d bytes (at most %d)", len(c), MaxNameLen)
		}
	}
	return nil
}

// decoder reads the fields of a TREE section; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("%s: bad or missing varint", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("%s: bad or missing varint", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("%s: missing", what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string(what string, max uint64) string {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return ""
	}
	if n > max || n > uint64(len(d.b)) {
		d.fail("%s of %d bytes (at most %d, and %d left)", what, n, max, len(d.b))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// entry reads one entry; prev is the path of the entry before it.
func (d *decoder) entry(prev string) (Entry, error) {
	var e Entry
	e.Kind = Kind(d.byte("kind"))
	mode := d.uvarint("mode")
	sec := d.varint("modification time")
	nsec := d.uvarint("modification time nanoseconds")
	shared := d.uvarint("shared path bytes")
	if d.err == nil && shared > uint64(len(prev)) {
		d.fail("shares %d bytes with a path of %d", shared, len(prev))
	}
	rest := d.string("path", MaxPathLen)
	if d.err != nil {
		return e, d.err
	}
	e.Path = prev[:shared] + rest
	switch e.Kind {
	case Folder:
	case File:
		size := d.uvarint("size")
		if d.err == nil && size > codec.MaxOriginalSize {
			d.fail("size %d beyond %d", size, int64(codec.MaxOriginalSize))
		}
		e.Size = int64(size)
	case Symlink:
		e.Target = d.string("link target", MaxPathLen)
		if d.err == nil && (e.Target == "" || !utf8.ValidString(e.Target) || strings.IndexByte(e.Target, 0) >= 0) {
			d.fail("link target must be UTF-8 without NUL, not empty")
		}
	default:
		// Hard links, devices, FIFOs and sockets have no kind: a tree
		// cannot hold them.
		d.fail("unknown kind %d (a tree holds folders, files and symbolic links only)", e.Kind)
	}
	if d.err != nil {
		return e, d.err
	}
	if mode > 0o777 {
		return e, fmt.Errorf("mode %#o has bits beyond the permissions (setuid, setgid and sticky bits are never stored)", mode)
	}
	if nsec > maxModTimeNs || sec < -(1<<40) || sec > 1<<40 {
		return e, fmt.Errorf("modification time %d.%09d out of range", sec, nsec)
	}
	e.Mode = fs.FileMode(mode)
	e.ModTime = time.Unix(sec, int64(nsec))
	return e, nil
}

// ContentSize returns the bytes of the content stream: the sizes of the
// files added up.
func ContentSize(entries []Entry) int64 {
	var n int64
	for _, e := range entries {
		if e.Kind == File {
			n += e.Size
		}
	}
	return n
}

// Count returns how many folders, files and links entries holds, the root
// not counted.
func Count(entries []Entry) (folders, files, links int) {
	for i, e := range entries {
		switch {
		case i == 0 && e.Path == "":
		case e.Kind == Folder:
			folders++
		case e.Kind == File:
			files++
		case e.Kind == Symlink:
			links++
		}
	}
	return
}
