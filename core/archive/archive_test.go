package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"zpng/codec"
)

func TestMarshalRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 987654321)
	entries := []Entry{
		{Kind: Folder, Mode: 0o755, ModTime: at},
		{Path: "a", Kind: Folder, Mode: 0o700, ModTime: at},
		{Path: "a/b.txt", Kind: File, Mode: 0o644, ModTime: at.Add(-time.Hour), Size: 12},
		{Path: "a/bc", Kind: Symlink, Mode: 0o777, ModTime: time.Unix(0, 0), Target: "../x"},
		{Path: "a/c", Kind: File, Mode: 0o755, ModTime: time.Unix(-5, 1), Size: 0},
		{Path: "zz 日本", Kind: File, Mode: 0o600, ModTime: at, Size: codec.MaxOriginalSize - 12},
	}
	got, err := Unmarshal(Marshal(entries))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if !got[i].ModTime.Equal(entries[i].ModTime) {
			t.Fatalf("entry %d: time %v, want %v", i, got[i].ModTime, entries[i].ModTime)
		}
		got[i].ModTime = entries[i].ModTime
	}
	if !reflect.DeepEqual(got, entries) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, entries)
	}
	if ContentSize(got) != codec.MaxOriginalSize {
		t.Fatalf("content size %d", ContentSize(got))
	}
	if f, n, l := Count(got); f != 1 || n != 3 || l != 1 {
		t.Fatalf("count %d folders, %d files, %d links", f, n, l)
	}
	// Trailing bytes and every cut are corrupt.
	b := Marshal(entries)
	if _, err := Unmarshal(append(b, 0)); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("trailing byte: %v", err)
	}
	for n := range len(b) {
		if _, err := Unmarshal(b[:n]); !errors.Is(err, codec.ErrCorrupt) {
			t.Fatalf("cut at %d of %d: %v", n, len(b), err)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"plain.txt":        "plain.txt",
		"a\x01b":           "a_b",
		"back\\slash":      "back_slash",
		"  spaced  ":       "spaced",
		"evil\u202etxt.sh": "eviltxt.sh",
		"..":               "",
		"...":              "",
		"\xff.txt":         "_.txt",
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
	if foldKey("ReadMe") != foldKey("README") || foldKey("Straße") == foldKey("STRASSE") || foldKey("Ǆ") != foldKey("ǆ") {
		t.Error("foldKey does not fold as strings.EqualFold")
	}
}

// TestFreeSpace: the free space of a temporary folder is known here and
// positive, so that Extract checks it.
func TestFreeSpace(t *testing.T) {
	if n, ok := freeSpace(t.TempDir()); !ok || n <= 0 {
		t.Fatalf("free space %d, known %v", n, ok)
	}
}

// TestExtractStreamLength: a content stream longer or shorter than the
// files is an error.
func TestExtractStreamLength(t *testing.T) {
	entries := []Entry{{Kind: Folder, Mode: 0o755}, {Path: "a", Kind: File, Mode: 0o644, Size: 3}, {Path: "b", Kind: File, Mode: 0o644}}
	x, err := NewExtractor(t.TempDir(), entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Write([]byte("abcd")); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("a stream too long: %v", err)
	}
	dir := t.TempDir()
	y, err := NewExtractor(dir, entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	y.Write([]byte("ab"))
	if err := y.Finish(); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("a stream too short: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Fatal("a file after the short stream was created")
	}
}

// FuzzUnmarshal: any TREE section either fails cleanly or gives entries
// that pass the checks again and encode back to an equivalent section.
func FuzzUnmarshal(f *testing.F) {
	f.Add(Marshal([]Entry{{Kind: Folder, Mode: 0o755}, {Path: "a", Kind: File, Size: 3}, {Path: "a b", Kind: Symlink, Target: "a"}}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, codec.ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		again, err := Unmarshal(Marshal(entries))
		if err != nil || len(again) != len(entries) {
			t.Fatalf("entries do not survive Marshal: %v", err)
		}
	})
}

// TestFormatExample: the example of codec/FORMAT.md section 14.
func TestFormatExample(t *testing.T) {
	at := time.Unix(1700000000, 0)
	got := fmt.Sprintf("% x", Marshal([]Entry{{Kind: Folder, Mode: 0o755, ModTime: at}, {Path: "a.txt", Kind: File, Mode: 0o644, ModTime: at, Size: 2}}))
	want := "02 00 ed 03 80 c4 9f d5 0c 00 00 00 01 a4 03 80 c4 9f d5 0c 00 00 05 61 2e 74 78 74 02"
	if got != want {
		t.Fatalf("TREE of the example:\n%s\nwant\n%s", got, want)
	}
}
