package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zpng/codec"
	"zpng/codec/classic"
)

// TestLegacyImages decodes images of testdata/legacy.txt (the shipped
// small-v5 model, no fine-tune) in methods zpng no longer makes but must
// restore: cm1 and hybrid1, made before revision 2 of the cm model (commit
// cfb5128), hybrid2, made before method hybrid coded groups of streams
// (commit c18dd3f), cm2, made before revision 3 of the cm model (at
// commit 421b7ea, when it was method cm), and hybrid3, made before method
// hybrid ran revision 3 (commit 73f3559, when it was method hybrid, id 8;
// one group of streams), and cm3, made before revision 4 of the cm model
// (at commit 1f657c0, when it was method cm, id 9, and this image
// golden-cm.zpng.png; flags: text profile).
func TestLegacyImages(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "legacy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ image, method string }{
		{"legacy-cm1.zpng.png", "cm1"},
		{"legacy-hybrid1.zpng.png", "hybrid1"},
		{"golden-hybrid2.zpng.png", "hybrid2"},
		{"legacy-cm2.zpng.png", "cm2"},
		{"golden-hybrid3.zpng.png", "hybrid3"},
		{"legacy-cm3.zpng.png", "cm3"},
	} {
		info, err := Inspect(filepath.Join("testdata", c.image))
		if err != nil {
			t.Fatal(err)
		}
		if info.Method != c.method {
			t.Errorf("%s: method %s, want %s", c.image, info.Method, c.method)
		}
		out := filepath.Join(t.TempDir(), "restored.txt")
		r, err := Decompress(context.Background(), filepath.Join("testdata", c.image), out, Options{Engine: "go"})
		if err != nil {
			t.Fatalf("%s: %v", c.image, err)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, want) || r.Method != c.method {
			t.Errorf("%s: restored %d bytes (method %s), want legacy.txt", c.image, len(got), r.Method)
		}
	}
	// None can be chosen for new images.
	in := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(in, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"cm1", "hybrid1", "hybrid2", "cm2", "hybrid3", "cm3"} {
		_, err := Compress(context.Background(), in, "", Options{Method: m})
		if err == nil || !strings.Contains(err.Error(), "only decodes") {
			t.Errorf("--method %s: %v, want it refused as decode-only", m, err)
		}
	}
}

// TestGoldenImages: images of testdata/legacy.txt that zpng made with
// methods stored, zstd and xz (at commit 421b7ea), cm (revision 4 of the
// cm model, id 12, flags: text profile) and hybrid (id 10: the shipped small-v5
// model, no fine-tune; one group of streams, text profile) restore, and
// the same input and settings still make them byte for byte, except zstd
// and xz where the C libraries encode them (classic.Native).
func TestGoldenImages(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "legacy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "legacy.txt") // the name is in the header
	if err := os.WriteFile(in, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"stored", "zstd", "xz", "cm", "hybrid"} {
		golden := filepath.Join("testdata", "golden-"+m+".zpng.png")
		out := filepath.Join(t.TempDir(), "restored.txt")
		r, err := Decompress(context.Background(), golden, out, Options{Engine: "go"})
		if err != nil {
			t.Fatalf("%s: %v", golden, err)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, want) || r.Method != m {
			t.Errorf("%s: restored %d bytes (method %s), want legacy.txt", golden, len(got), r.Method)
		}
		img := filepath.Join(t.TempDir(), "again.png")
		if _, err := Compress(context.Background(), in, img, Options{Method: m, Model: "small", Engine: "go"}); err != nil {
			t.Fatalf("--method %s: %v", m, err)
		}
		again, _ := os.ReadFile(img)
		old, _ := os.ReadFile(golden)
		if classic.Native && (m == "zstd" || m == "xz") {
			// liblzma and libzstd make other streams than the Go ports: the
			// image must restore and be no bigger. (Package classic checks
			// their bytes and that the Go ports decode them.)
			if len(again) > len(old) {
				t.Errorf("--method %s makes an image of %d bytes, %s has %d", m, len(again), golden, len(old))
			}
			if _, err := Decompress(context.Background(), img, out, Options{Engine: "go", Force: true}); err != nil {
				t.Errorf("--method %s: the new image: %v", m, err)
			} else if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
				t.Errorf("--method %s: the new image restores %d bytes, want legacy.txt", m, len(got))
			}
			continue
		}
		if !bytes.Equal(again, old) {
			t.Errorf("--method %s makes an image of %d bytes that differs from %s (%d bytes)", m, len(again), golden, len(old))
		}
	}
}

// TestHybridOneGroup: method hybrid3 in one group codes as method hybrid2
// (golden-hybrid2.zpng.png): the same payload, and the same stream table
// before the group table of one group of all streams.
func TestHybridOneGroup(t *testing.T) {
	read := func(name string) *codec.Container {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := codec.ReadBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h2, h := read("golden-hybrid2.zpng.png"), read("golden-hybrid3.zpng.png")
	p2, _ := h2.Section(codec.SectionPayload)
	p, _ := h.Section(codec.SectionPayload)
	s2, _ := h2.Section(codec.SectionStreams)
	s, _ := h.Section(codec.SectionStreams)
	oneGroup := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(bytes.Clone(s2), 1), binary.LittleEndian.Uint32(s2))
	if h.Method != codec.MethodHybrid3 || !bytes.Equal(p, p2) || !bytes.Equal(s, oneGroup) {
		t.Errorf("method %s: payload %d bytes (hybrid2 %d), STRM % x, want % x", h.Method, len(p), len(p2), s, oneGroup)
	}
}
