package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"zpng/codec"
	"zpng/core/archive"
)

// node is one entry of a test tree.
type node struct {
	path   string // slash-separated; a trailing "/" makes a folder
	mode   fs.FileMode
	data   string
	target string // a symbolic link when set
}

// sampleTree has nested folders, an empty folder, links (one pointing out
// of the tree), an executable, an empty file and non-ASCII names.
var sampleTree = []node{
	{path: "docs/", mode: 0o755},
	{path: "docs/empty/", mode: 0o700},
	{path: "docs/notes.txt", mode: 0o644, data: strings.Repeat("notes on the tree format. ", 40)},
	{path: "docs/ünïcødé 日本.txt", mode: 0o600, data: "non-ASCII name\n"},
	{path: "docs/deep/", mode: 0o750},
	{path: "docs/deep/er/", mode: 0o755},
	{path: "docs/deep/er/file.bin", mode: 0o640, data: "\x00\x01\x02 binary \xff"},
	{path: "run.sh", mode: 0o755, data: "#!/bin/sh\necho zpng\n"},
	{path: "empty", mode: 0o644},
	{path: "link", target: "docs/notes.txt"},
	{path: "outside", target: "/etc/hostname"},
}

// stamp is the modification time of the i-th entry of a test tree.
func stamp(i int) time.Time {
	return time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC).Add(time.Duration(i) * time.Hour)
}

// makeTree creates nodes in a new folder dir/name with their modes and
// times and returns its path.
func makeTree(t *testing.T, dir, name string, nodes []node) string {
	t.Helper()
	root := filepath.Join(dir, name)
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		p := filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(n.path, "/")))
		var err error
		switch {
		case n.target != "":
			err = os.Symlink(n.target, p)
		case strings.HasSuffix(n.path, "/"):
			err = os.Mkdir(p, 0o700)
		default:
			err = os.WriteFile(p, []byte(n.data), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Modes and times last, innermost first, so that nothing changes them.
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if n.target != "" {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(n.path, "/")))
		if err := os.Chmod(p, n.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, stamp(i), stamp(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(root, stamp(100), stamp(100)); err != nil {
		t.Fatal(err)
	}
	return root
}

// snapshot describes a tree on disk, one line per entry: path, kind, mode,
// time, content or target. Links' times are not kept, so not compared.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := rel + " " + st.Mode().String()
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case st.IsDir():
			line += " " + st.ModTime().UTC().Format(time.RFC3339Nano)
		default:
			data, _ := os.ReadFile(p)
			line += " " + st.ModTime().UTC().Format(time.RFC3339Nano) + " " + string(data)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestTreeRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, m := range []string{"zstd", "cm"} {
		dir := t.TempDir()
		root := makeTree(t, dir, "project", sampleTree)
		want := snapshot(t, root)
		var reports []Progress
		r, err := Compress(ctx, root, "", Options{Method: m, Progress: func(p Progress) { reports = append(reports, p) }})
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		checkProgress(t, reports)
		if r.Output != root+DefaultSuffix || r.Entries != len(sampleTree) || !r.Verified {
			t.Fatalf("%s: output %s, %d entries, verified %v", m, r.Output, r.Entries, r.Verified)
		}
		info, err := Inspect(r.Output)
		if err != nil {
			t.Fatal(err)
		}
		if info.Version != codec.VersionTree || len(info.Tree) != len(sampleTree)+1 || info.Name != "project" {
			t.Fatalf("%s: info version %d, %d entries, name %q", m, info.Version, len(info.Tree), info.Name)
		}
		if v, err := Verify(ctx, r.Output, Options{}); err != nil || !v.Verified {
			t.Fatalf("verify: %v", err)
		}

		// The folder exists: no restore without --force, and nothing changes.
		if _, err := Decompress(ctx, r.Output, "", Options{}); !errors.Is(err, ErrExists) {
			t.Fatalf("restore over the folder: %v, want ErrExists", err)
		}
		if got := snapshot(t, root); !slices.Equal(got, want) {
			t.Fatalf("a refused restore changed the folder")
		}

		// Into a folder of its own: byte-, mode- and time-exact.
		out := t.TempDir()
		d, err := Decompress(ctx, r.Output, out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Output != filepath.Join(out, "project") || d.Entries != len(sampleTree) {
			t.Fatalf("restored to %s (%d entries)", d.Output, d.Entries)
		}
		if got := snapshot(t, d.Output); !slices.Equal(got, want) {
			t.Fatalf("%s: restored tree differs:\n%s\nwant\n%s", m, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if names := listDir(t, out); len(names) != 1 {
			t.Fatalf("the restore left %v", names)
		}

		// --force replaces the folder: what the image lacks is gone.
		os.WriteFile(filepath.Join(root, "stray.txt"), []byte("x"), 0o644)
		os.Chmod(filepath.Join(root, "docs"), 0o500) // a read-only folder is replaced too
		if _, err := Decompress(ctx, r.Output, "", Options{Force: true}); err != nil {
			t.Fatalf("restore --force: %v", err)
		}
		if got := snapshot(t, root); !slices.Equal(got, want) {
			t.Fatalf("restore --force: the folder is not the image's tree:\n%s", strings.Join(got, "\n"))
		}
		if names := listDir(t, dir); len(names) != 2 {
			t.Fatalf("the folder holds %v after restore --force", names)
		}
	}
}

// TestTreeSeveralFiles: several paths make one image whose root is named
// after it; their names must differ.
func TestTreeSeveralFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := writeFile(t, dir, "a.txt", text)
	sub := makeTree(t, dir, "sub", sampleTree[:3])
	img := filepath.Join(dir, "bundle"+DefaultSuffix)
	r, err := CompressSource(ctx, Source{Paths: []string{a, sub}}, img, Options{Method: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Entries != 5 || r.InputSize != int64(len(text)+len(sampleTree[2].data)) {
		t.Fatalf("%d entries, %d bytes", r.Entries, r.InputSize)
	}
	out := t.TempDir()
	d, err := Decompress(ctx, img, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Output != filepath.Join(out, "bundle") {
		t.Fatalf("restored to %s, want the folder bundle", d.Output)
	}
	if got, _ := os.ReadFile(filepath.Join(d.Output, "a.txt")); !bytes.Equal(got, text) {
		t.Fatal("a.txt differs")
	}
	if got, want := snapshot(t, filepath.Join(d.Output, "sub")), snapshot(t, sub); !slices.Equal(got, want) {
		t.Fatalf("sub differs:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	other := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(other, []byte("other"), 0o644)
	_, err = CompressSource(ctx, Source{Paths: []string{a, other}}, filepath.Join(dir, "x.png"), Options{Method: "zstd"})
	if err == nil || !strings.Contains(err.Error(), "same name") {
		t.Fatalf("two files named a.txt: %v", err)
	}
	if _, err := CompressSource(ctx, Source{Paths: []string{a, sub}}, "", Options{Method: "zstd"}); err == nil {
		t.Fatal("several files without an output were compressed")
	}
}

// TestTreeSetuidStripped: setuid, setgid and sticky bits are not stored,
// and the result says so.
func TestTreeSetuidStripped(t *testing.T) {
	dir := t.TempDir()
	root := makeTree(t, dir, "p", []node{{path: "tool", mode: 0o755, data: "x"}})
	if err := os.Chmod(filepath.Join(root, "tool"), 0o755|fs.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	r, err := Compress(context.Background(), root, "", Options{Method: "stored"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasNote(r.Notes, "setuid") {
		t.Errorf("notes %q do not mention the setuid bit", r.Notes)
	}
	info, err := Inspect(r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if m := info.Tree[1].Mode; m != 0o755 {
		t.Errorf("stored mode %v, want 0755", m)
	}
}

// rawEntry is a TREE entry written as is, valid or not.
type rawEntry struct {
	kind   byte
	mode   uint64
	path   string
	size   uint64
	target string
}

// rawTree encodes entries without the checks of archive.Marshal (no
// shared prefixes), for crafting hostile images.
func rawTree(entries []rawEntry) []byte {
	b := binary.AppendUvarint(nil, uint64(len(entries)))
	for _, e := range entries {
		b = append(b, e.kind)
		b = binary.AppendUvarint(b, e.mode)
		b = binary.AppendVarint(b, 1700000000)
		b = binary.AppendUvarint(b, 0)
		b = binary.AppendUvarint(b, 0)
		b = binary.AppendUvarint(b, uint64(len(e.path)))
		b = append(b, e.path...)
		switch e.kind {
		case 1:
			b = binary.AppendUvarint(b, e.size)
		case 2:
			b = binary.AppendUvarint(b, uint64(len(e.target)))
			b = append(b, e.target...)
		}
	}
	return b
}

// craftTree writes an image (method stored) of the TREE section tree and
// content stream data as path.
func craftTree(t *testing.T, path string, tree, data []byte) {
	t.Helper()
	c := &codec.Container{
		Header: codec.Header{Method: codec.MethodStored, OriginalSize: int64(len(data)), SHA256: sha256.Sum256(data), Name: "evil"},
		Sections: []codec.Section{
			{Type: codec.SectionTree, Data: tree},
			{Type: codec.SectionPayload, Data: data},
		},
	}
	var buf bytes.Buffer
	if err := codec.Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTreeCraftedImages: images made to write outside the target, or to
// exhaust the disk, are refused with a clear error before anything is
// written, and nothing is left.
func TestTreeCraftedImages(t *testing.T) {
	root := rawEntry{kind: 0, mode: 0o755}
	dir := func(p string) rawEntry { return rawEntry{kind: 0, mode: 0o755, path: p} }
	file := func(p string, n uint64) rawEntry { return rawEntry{kind: 1, mode: 0o644, path: p, size: n} }
	link := func(p, target string) rawEntry { return rawEntry{kind: 2, mode: 0o777, path: p, target: target} }
	for _, tc := range []struct {
		name    string
		entries []rawEntry
		opt     Options
		want    string
	}{
		{"dot-dot", []rawEntry{root, file("../evil", 4)}, Options{}, `path component ".."`},
		{"dot-dot inside", []rawEntry{root, dir("a"), file("a/../../evil", 4)}, Options{}, `path component ".."`},
		{"absolute", []rawEntry{root, file("/tmp/evil", 4)}, Options{}, "absolute path"},
		{"through a link", []rawEntry{root, link("l", ".."), file("l/evil", 4)}, Options{}, `its parent "l" is not a folder`},
		{"through a link to a folder", []rawEntry{root, dir("d"), link("d/l", "/tmp"), file("d/l/evil", 4)}, Options{}, `its parent "d/l" is not a folder`},
		{"parent not listed", []rawEntry{root, file("nowhere/evil", 4)}, Options{}, "not a folder listed before it"},
		{"hard link", []rawEntry{root, {kind: 3, mode: 0o644, path: "h"}, file("x", 4)}, Options{}, "unknown kind 3"},
		{"device", []rawEntry{root, {kind: 4, mode: 0o644, path: "sda"}, file("x", 4)}, Options{}, "unknown kind 4"},
		{"FIFO", []rawEntry{root, {kind: 5, mode: 0o644, path: "fifo"}, file("x", 4)}, Options{}, "unknown kind 5"},
		{"setuid", []rawEntry{root, {kind: 1, mode: 0o4755, path: "su", size: 4}}, Options{}, "setuid"},
		{"sticky folder", []rawEntry{root, {kind: 0, mode: 0o1777, path: "tmp"}, file("x", 4)}, Options{}, "sticky"},
		{"case only", []rawEntry{root, file("README", 2), file("readme", 2)}, Options{Tree: archive.Options{FoldCase: true}}, "differ only in case"},
		{"case only in folders", []rawEntry{root, dir("Docs"), dir("docs"), file("docs/x", 4)}, Options{Tree: archive.Options{FoldCase: true}}, "differ only in case"},
		{"same once cleaned", []rawEntry{root, file("a\x01", 2), file("a_", 2)}, Options{}, "would both restore as"},
		{"duplicate", []rawEntry{root, file("a", 2), file("a", 2)}, Options{}, "sorted and unique"},
		{"unsorted", []rawEntry{root, file("b", 2), file("a", 2)}, Options{}, "sorted and unique"},
		{"no root", []rawEntry{file("a", 4)}, Options{}, "root folder"},
		{"NUL", []rawEntry{root, file("a\x00b", 4)}, Options{}, "NUL"},
		{"too many entries", []rawEntry{root, file("a", 1), file("b", 1), file("c", 1), file("d", 1)}, Options{Tree: archive.Options{MaxEntries: 3}}, "5 entries; the limit is 3"},
		{"too many bytes", []rawEntry{root, file("a", 4)}, Options{Tree: archive.Options{MaxBytes: 3}}, "4 bytes; the limit is 3"},
		{"sizes off", []rawEntry{root, file("a", 3)}, Options{}, "the header says 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			sub := filepath.Join(base, "images")
			os.Mkdir(sub, 0o755)
			img := filepath.Join(sub, "evil.zpng.png")
			craftTree(t, img, rawTree(tc.entries), []byte("data"))
			_, err := Decompress(context.Background(), img, "", tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want an error with %q", err, tc.want)
			}
			if names := listDir(t, base); len(names) != 1 {
				t.Fatalf("the refused restore left %v beside the images folder", names)
			}
			if names := listDir(t, sub); len(names) != 1 {
				t.Fatalf("the refused restore left %v", names)
			}
		})
	}
}

// TestTreePipes: a stream compresses to a writer and restores to one; an
// image of a tree is refused for a writer before anything is decoded.
func TestTreePipes(t *testing.T) {
	ctx := context.Background()
	var img bytes.Buffer
	r, err := CompressTo(ctx, Source{Reader: bytes.NewReader(text)}, &img, Options{Method: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Output != "" || r.InputSize != int64(len(text)) || int64(img.Len()) != r.OutputSize {
		t.Fatalf("result %+v, %d bytes written", r, img.Len())
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "piped.png")
	os.WriteFile(path, img.Bytes(), 0o644)
	info, err := Inspect(path)
	if err != nil || info.StoredName != "stdin" {
		t.Fatalf("stored name %q, err %v", info.StoredName, err)
	}
	var back bytes.Buffer
	if _, err := DecompressTo(ctx, path, &back, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), text) {
		t.Fatal("the stream does not restore")
	}
	if _, err := CompressSource(ctx, Source{Reader: bytes.NewReader(text), Name: "notes.txt"}, filepath.Join(dir, "named.png"), Options{Method: "zstd"}); err != nil {
		t.Fatal(err)
	}
	if info, _ := Inspect(filepath.Join(dir, "named.png")); info == nil || info.StoredName != "notes.txt" {
		t.Fatalf("--name: %+v", info)
	}

	tree := makeTree(t, dir, "tree", sampleTree[:3])
	tr, err := Compress(ctx, tree, "", Options{Method: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	back.Reset()
	if _, err := DecompressTo(ctx, tr.Output, &back, Options{}); !errors.Is(err, ErrTree) || back.Len() != 0 {
		t.Fatalf("a tree to a writer: %v, %d bytes written", err, back.Len())
	}
}

// TestGoldenTree: testdata/golden-tree.zpng.png, an image of sampleTree
// (method cm, revision 4), and legacy-tree-cm3.zpng.png, the image that
// was golden before revision 4 (method cm3), restore to that tree, and
// the same tree still makes the first byte for byte.
func TestGoldenTree(t *testing.T) {
	want := snapshot(t, makeTree(t, t.TempDir(), "golden-tree", sampleTree))
	var r *Result
	for _, name := range []string{"legacy-tree-cm3.zpng.png", "golden-tree.zpng.png"} {
		out := t.TempDir()
		var err error
		r, err = Decompress(context.Background(), filepath.Join("testdata", name), out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := snapshot(t, r.Output); r.Output != filepath.Join(out, "golden-tree") || !slices.Equal(got, want) {
			t.Fatalf("%s restores to %s:\n%s\nwant\n%s", name, r.Output, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	golden := filepath.Join("testdata", "golden-tree.zpng.png")
	img := filepath.Join(t.TempDir(), "again.png")
	if _, err := Compress(context.Background(), r.Output, img, Options{Method: "cm"}); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(img)
	old, _ := os.ReadFile(golden)
	if !bytes.Equal(again, old) {
		t.Errorf("the same tree makes an image of %d bytes that differs from %s (%d bytes)", len(again), golden, len(old))
	}
}
