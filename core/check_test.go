package core

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"zpng/codec"
)

// withProcs runs f with GOMAXPROCS n.
func withProcs(n int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	f()
}

// TestFollowedCheck: with a second core, method cm's payload is checked
// while it is coded, and the payload is the one coded without that check;
// the image it makes is verified and restores.
func TestFollowedCheck(t *testing.T) {
	src := append(bytes.Clone(text), randomData(5000)...)
	cmMethod := classical{codec.MethodCM}
	var plain, followed *encoded
	var err error
	withProcs(1, func() { plain, err = cmMethod.encode(context.Background(), newJob(Options{}), src) })
	if err != nil || plain.follow != nil {
		t.Fatalf("one core: follower %v, %v", plain.follow, err)
	}
	withProcs(2, func() { followed, err = cmMethod.encode(context.Background(), newJob(Options{}), src) })
	if err != nil || followed.follow == nil {
		t.Fatalf("two cores: no follower, %v", err)
	}
	if err := followed.follow.result(context.Background()); err != nil {
		t.Errorf("the check that followed: %v", err)
	}
	if !sameContainer(&codec.Container{Sections: plain.sections}, &codec.Container{Sections: followed.sections}) {
		t.Errorf("payload with the check beside it differs: %d B vs %d B", followed.size(), plain.size())
	}

	dir := t.TempDir()
	in := writeFile(t, dir, "input.bin", src)
	withProcs(2, func() {
		var r *Result
		if r, err = Compress(context.Background(), in, "", Options{Method: "cm"}); err == nil && !r.Verified {
			t.Errorf("not verified: %+v", r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "restored")
	if _, err := Decompress(context.Background(), in+".zpng.png", out, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, src) {
		t.Errorf("restored %d bytes differ from the %d of the input", len(got), len(src))
	}
}

// TestFollowedCheckFails: the check refuses a payload that decodes to other
// bytes than the input, one cut short, and a written file that holds other
// sections or header fields than the image checked.
func TestFollowedCheckFails(t *testing.T) {
	src := bytes.Clone(text)
	e, err := classical{codec.MethodCM}.encode(context.Background(), newJob(Options{}), src)
	if err != nil {
		t.Fatal(err)
	}
	payload := e.sections[0].Data
	whole := func(p []byte) func(int) ([]byte, bool) { return func(int) ([]byte, bool) { return p, true } }
	other := bytes.Clone(src)
	other[len(other)/2] ^= 1
	if err := decodesTo(context.Background(), codec.MethodCM, e.flags, whole(payload), other); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("other bytes than the input: %v, want codec.ErrCorrupt", err)
	}
	if err := decodesTo(context.Background(), codec.MethodCM, e.flags, whole(payload[:len(payload)/2]), src); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("a payload cut short: %v, want codec.ErrCorrupt", err)
	}
	if err := decodesTo(context.Background(), codec.MethodCM, e.flags, whole(payload), src); err != nil {
		t.Errorf("the payload itself: %v", err)
	}

	c := &codec.Container{Header: codec.Header{Method: codec.MethodCM, Flags: e.flags, OriginalSize: int64(len(src)), Name: "a.txt"},
		Sections: e.sections}
	path := filepath.Join(t.TempDir(), "a.zpng.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.Write(f, c); err != nil {
		t.Fatal(err)
	}
	f.Close()
	j := newJob(Options{})
	if err := readBack(context.Background(), j, path, c); err != nil {
		t.Errorf("the file as written: %v", err)
	}
	changed := bytes.Clone(payload)
	changed[0] ^= 1
	for name, d := range map[string]*codec.Container{
		"a payload byte": {Header: c.Header, Sections: []codec.Section{{Type: codec.SectionPayload, Data: changed}}},
		"the name":       {Header: codec.Header{Method: c.Method, Flags: c.Flags, OriginalSize: c.OriginalSize, Name: "b.txt"}, Sections: c.Sections},
		"the flags":      {Header: codec.Header{Method: c.Method, Flags: c.Flags ^ 1, OriginalSize: c.OriginalSize, Name: c.Name}, Sections: c.Sections},
	} {
		if err := readBack(context.Background(), j, path, d); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s differs: %v, want codec.ErrCorrupt", name, err)
		}
	}
}
