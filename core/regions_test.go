package core

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"zpng/codec"
)

// mixedTar is a tar of a text, an x86-64 ELF file, a file of binary records
// and rnd: text, executable, binary and (for random rnd) random regions of
// at least minRegion bytes each.
func mixedTar(t *testing.T, rnd []byte) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	var txt bytes.Buffer
	words := []string{"region", "model", "byte", "the", "of", "context", "mixing", "stream", "image", "file", "and"}
	for i := 0; txt.Len() < minRegion+5000; i++ {
		fmt.Fprintf(&txt, "%d. %s %s %s;", i, words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))])
		if i%7 == 6 {
			txt.WriteByte('\n')
		}
	}
	elf := make([]byte, minRegion+3000)
	copy(elf, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(elf[18:], 62)
	for i := 64; i+8 <= len(elf); i += 8 {
		elf[i], elf[i+1] = 0x48, 0x89 // mov, then a call to a nearby function
		elf[i+3] = 0xe8
		binary.LittleEndian.PutUint32(elf[i+4:], uint32(rng.IntN(64)*16-i))
	}
	rec := make([]byte, minRegion+1000)
	for i := 0; i+12 <= len(rec); i += 12 {
		binary.LittleEndian.PutUint32(rec[i:], uint32(i/12))
		binary.LittleEndian.PutUint32(rec[i+4:], uint32(rng.IntN(300)))
		binary.LittleEndian.PutUint32(rec[i+8:], 7)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range []struct {
		name string
		data []byte
	}{{"notes.txt", txt.Bytes()}, {"prog", elf}, {"table.bin", rec}, {"noise.bin", rnd}} {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	return b.Bytes()
}

func TestCutRegions(t *testing.T) {
	src := mixedTar(t, randomData(minRegion+2000))
	var kinds []kind
	end := 0
	for _, r := range cutRegions(src) {
		if r.off != end || r.n < minRegion && len(kinds) > 0 {
			t.Fatalf("region %+v after %d", r, end)
		}
		end = r.off + r.n
		kinds = append(kinds, r.kind)
	}
	if want := []kind{kindText, kindExec, kindBinary, kindRandom}; fmt.Sprint(kinds) != fmt.Sprint(want) || end != len(src) {
		t.Errorf("kinds %v to %d, want %v to %d", kinds, end, want, len(src))
	}
	if !mixed(src) || mixed(text) || mixed(randomData(3*minRegion)) || mixed(nil) {
		t.Error("mixed is wrong")
	}
	long := splitLong([]region{{off: 5, n: 2*maxRegion + 1}})
	if len(long) != 3 || long[0].n != maxRegion*2/3+1 || long[1].off != 5+long[0].n || long[2].off+long[2].n != 5+2*maxRegion+1 {
		t.Errorf("splitLong: %+v", long)
	}
}

// TestRegionsRoundTrip: a mixed tar restores exactly, its random member
// costs no more than stored, and threads 1 and 2 make the same image; at the default level
// auto picks regions (whole-file cm and hybrid do not run on a mixed
// file there); at level 7 regions competes with them and the smallest
// is kept.
func TestRegionsRoundTrip(t *testing.T) {
	src := mixedTar(t, randomData(minRegion+2000))
	dir := t.TempDir()
	in := writeFile(t, dir, "mixed.tar", src)
	var imgs [][]byte
	for _, threads := range []int{1, 2} {
		out := filepath.Join(dir, fmt.Sprint(threads, ".png"))
		r, err := Compress(context.Background(), in, out, Options{Method: "regions", Level: 3, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		img, _ := os.ReadFile(out)
		imgs = append(imgs, img)
		c, err := codec.Read(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		rs, err := parseRegions(c)
		if err != nil {
			t.Fatal(err)
		}
		var ms []codec.Method
		for _, e := range rs {
			ms = append(ms, e.method)
		}
		// The random member with the tar's end (zeros) around it: cm
		// saves a few bytes on it, or it is stored.
		if m := fmt.Sprint(ms); m != "[cm cm cm stored]" && m != "[cm cm cm cm]" || r.OutputSize > int64(len(src))/2 {
			t.Errorf("threads %d: methods %v, %d bytes of %d", threads, ms, r.OutputSize, len(src))
		}
		back := filepath.Join(dir, "back")
		if _, err := Decompress(context.Background(), out, back, Options{Threads: 3 - threads, Force: true}); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(back); !bytes.Equal(got, src) {
			t.Fatal("restored bytes differ")
		}
	}
	if !bytes.Equal(imgs[0], imgs[1]) {
		t.Error("threads 1 and 2 make different images")
	}
	for _, level := range []int{0, 7} {
		r, err := Compress(context.Background(), in, filepath.Join(dir, "auto.png"), Options{Level: level, Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if level == 0 && r.Method != "regions" {
			t.Errorf("level %d picked %s: %v", level, r.Method, r.Notes)
		}
		// At level 7 whole-file cm may win (it sees the whole file).
		if !strings.Contains(fmt.Sprint(r.Notes), "regions") || r.OutputSize > int64(len(imgs[0])) {
			t.Errorf("level %d picked %s, %d bytes, regions %d: %v", level, r.Method, r.OutputSize, len(imgs[0]), r.Notes)
		}
	}
}

// TestRegionsCorruptTable: region tables that break a rule of FORMAT.md
// section 16 are refused as corrupt, never with a panic.
func TestRegionsCorruptTable(t *testing.T) {
	src := mixedTar(t, randomData(minRegion+2000))
	dir := t.TempDir()
	in := writeFile(t, dir, "mixed.tar", src)
	good := filepath.Join(dir, "good.png")
	if _, err := Compress(context.Background(), in, good, Options{Method: "regions", Level: 3}); err != nil {
		t.Fatal(err)
	}
	img, _ := os.ReadFile(good)
	c, err := codec.Read(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	table, _ := c.Section(codec.SectionRegions)
	data, _ := c.Section(codec.SectionPayload)
	le := binary.LittleEndian
	for name, change := range map[string]func(tb []byte, c *codec.Container) []byte{
		"count up":        func(tb []byte, _ *codec.Container) []byte { le.PutUint32(tb, 5); return tb },
		"count down":      func(tb []byte, _ *codec.Container) []byte { le.PutUint32(tb, 3); return tb },
		"no regions":      func(tb []byte, _ *codec.Container) []byte { le.PutUint32(tb, 0); return tb },
		"huge count":      func(tb []byte, _ *codec.Container) []byte { le.PutUint32(tb, 1<<31); return tb },
		"length 0":        func(tb []byte, _ *codec.Container) []byte { le.PutUint64(tb[4:], 0); return tb },
		"length +1":       func(tb []byte, _ *codec.Container) []byte { le.PutUint64(tb[4:], le.Uint64(tb[4:])+1); return tb },
		"length -1":       func(tb []byte, _ *codec.Container) []byte { le.PutUint64(tb[4:], le.Uint64(tb[4:])-1); return tb },
		"length huge":     func(tb []byte, _ *codec.Container) []byte { le.PutUint64(tb[4:], 1<<63); return tb },
		"length 16 MiB+1": func(tb []byte, _ *codec.Container) []byte { le.PutUint64(tb[4:], maxRegion+1); return tb },
		"method regions":  func(tb []byte, _ *codec.Container) []byte { tb[12] = byte(codec.MethodRegions); return tb },
		"method neural":   func(tb []byte, _ *codec.Container) []byte { tb[12] = byte(codec.MethodNeural); return tb },
		"method unknown":  func(tb []byte, _ *codec.Container) []byte { tb[12] = 200; return tb },
		"method stored":   func(tb []byte, _ *codec.Container) []byte { tb[12] = byte(codec.MethodStored); return tb },
		"no sections":     func(tb []byte, _ *codec.Container) []byte { tb[13] = 0; return tb },
		"five sections":   func(tb []byte, _ *codec.Container) []byte { tb[13] = 5; return tb },
		"cm flags":        func(tb []byte, _ *codec.Container) []byte { tb[14] = 0x80; return tb },
		"section type":    func(tb []byte, _ *codec.Container) []byte { copy(tb[16:], "STRM"); return tb },
		"section past":    func(tb []byte, _ *codec.Container) []byte { le.PutUint64(tb[20:], uint64(len(data))+1); return tb },
		"section shorter": func(tb []byte, _ *codec.Container) []byte { le.PutUint64(tb[20:], le.Uint64(tb[20:])-1); return tb },
		"trailing byte":   func(tb []byte, _ *codec.Container) []byte { return append(tb, 0) },
		"cut short":       func(tb []byte, _ *codec.Container) []byte { return tb[:len(tb)-1] },
		"empty table":     func(tb []byte, _ *codec.Container) []byte { return nil },
		"header flags":    func(tb []byte, c *codec.Container) []byte { c.Flags = 1; return tb },
	} {
		bad := &codec.Container{Header: c.Header}
		tb := change(bytes.Clone(table), bad)
		bad.Sections = []codec.Section{{Type: codec.SectionRegions, Data: tb}, {Type: codec.SectionPayload, Data: data}}
		var b bytes.Buffer
		if err := codec.Write(&b, bad); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "bad.png")
		os.WriteFile(p, b.Bytes(), 0o644)
		_, err := Decompress(context.Background(), p, filepath.Join(dir, "out"), Options{Force: true})
		if !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// goldenMixed is the input of testdata/golden-regions.zpng.png: a tar of
// legacy.txt repeated, a repetitive x86-64 ELF file, binary records and
// 4 KiB of random bytes repeated (random by its entropy, yet compressible),
// so that the image stays small. With again, the tar ends with a second
// copy of the text (testdata/golden-copy.zpng.png).
func goldenMixed(t *testing.T, again bool) []byte {
	t.Helper()
	legacy, err := os.ReadFile(filepath.Join("testdata", "legacy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	elf := make([]byte, minRegion+3000)
	copy(elf, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(elf[18:], 62)
	for i := 64; i+8 <= len(elf); i += 8 {
		elf[i], elf[i+1], elf[i+3] = 0x48, 0x89, 0xe8
		binary.LittleEndian.PutUint32(elf[i+4:], uint32(i%512-i))
	}
	rec := make([]byte, minRegion+1000)
	for i := 0; i+12 <= len(rec); i += 12 {
		binary.LittleEndian.PutUint32(rec[i:], uint32(i/12%300))
		binary.LittleEndian.PutUint32(rec[i+4:], 7)
	}
	type file struct {
		name string
		data []byte
	}
	notes := bytes.Repeat(legacy, minRegion/len(legacy)+1)
	files := []file{
		{"notes.txt", notes}, {"prog", elf}, {"table.bin", rec},
		{"noise.bin", bytes.Repeat(randomData(4096), minRegion/4096+1)},
	}
	if again {
		files = append(files, file{"notes-again.txt", notes})
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	return b.Bytes()
}

// checkGolden checks that the golden image restores the input want of
// method regions and that the same input, level 3, still makes it byte for
// byte (ZPNG_WRITE_GOLDEN=1 writes it anew); it returns the regions' kinds.
func checkGolden(t *testing.T, golden string, want []byte) string {
	in := writeFile(t, t.TempDir(), "mixed.tar", want)
	img := filepath.Join(t.TempDir(), "again.png")
	if _, err := Compress(context.Background(), in, img, Options{Method: "regions", Level: 3}); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(img)
	if os.Getenv("ZPNG_WRITE_GOLDEN") != "" {
		if err := os.WriteFile(golden, again, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "restored.tar")
	r, err := Decompress(context.Background(), golden, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) || r.Method != "regions" {
		t.Errorf("restored %d bytes (method %s), want %d", len(got), r.Method, len(want))
	}
	if old, _ := os.ReadFile(golden); !bytes.Equal(again, old) {
		t.Errorf("--method regions makes an image of %d bytes that differs from %s (%d bytes)", len(again), golden, len(old))
	}
	info, err := Inspect(golden)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, g := range info.Regions {
		kinds = append(kinds, g.Kind)
	}
	return fmt.Sprint(kinds)
}

// TestGoldenRegions: testdata/golden-regions.zpng.png (method regions,
// level 3: cm in the text, x86 and binary profiles) restores, and the same
// input and settings still make it.
func TestGoldenRegions(t *testing.T) {
	golden := filepath.Join("testdata", "golden-regions.zpng.png")
	if k := checkGolden(t, golden, goldenMixed(t, false)); k != "[text executable binary binary]" {
		t.Errorf("kinds of the regions %s", k)
	}
}

// TestGoldenCopy: testdata/golden-copy.zpng.png, of goldenMixed with the
// text again at its end, which is a copy, restores, and the same input and
// settings still make it. (The repeats within its members stay with the
// regions' models.)
func TestGoldenCopy(t *testing.T) {
	golden := filepath.Join("testdata", "golden-copy.zpng.png")
	if k := checkGolden(t, golden, goldenMixed(t, true)); k != "[text executable binary binary copy text]" {
		t.Errorf("kinds of the regions %s", k)
	}
}

// TestLegacyRegions: images of goldenMixed whose cm regions are in cm3 (id
// 9), made before regions were coded with cm revision 4 (at commit 108e903,
// as golden-regions.zpng.png and golden-copy.zpng.png), still restore.
func TestLegacyRegions(t *testing.T) {
	for _, c := range []struct {
		image string
		again bool
	}{{"legacy-regions-cm3.zpng.png", false}, {"legacy-copy-cm3.zpng.png", true}} {
		want := goldenMixed(t, c.again)
		path := filepath.Join("testdata", c.image)
		info, err := Inspect(path)
		if err != nil {
			t.Fatal(err)
		}
		cm3 := 0
		for _, g := range info.Regions {
			if g.Method == "cm3" {
				cm3++
			}
		}
		if cm3 == 0 {
			t.Errorf("%s: no cm3 region", c.image)
		}
		out := filepath.Join(t.TempDir(), "restored.tar")
		if _, err := Decompress(context.Background(), path, out, Options{}); err != nil {
			t.Fatalf("%s: %v", c.image, err)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Errorf("%s: restored %d bytes, want %d", c.image, len(got), len(want))
		}
	}
}

// TestRegionsCorruptCopy: copies that point forward, past the end, into
// themselves or beyond the window, or break the form of a copy, are
// refused as corrupt, never with a panic.
func TestRegionsCorruptCopy(t *testing.T) {
	img, err := os.ReadFile(filepath.Join("testdata", "golden-copy.zpng.png"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := codec.Read(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := parseRegions(c)
	if err != nil {
		t.Fatal(err)
	}
	// The first copy: its table entry and where its source lies in DATA.
	entry, at := 4, int64(0)
	var cp regionEntry
	for _, r := range rs {
		if r.method == codec.MethodCopy {
			cp = r
			break
		}
		entry += 12 + 12*len(r.sections)
		at += r.coded
	}
	if cp.n == 0 {
		t.Fatal("no copy in the golden image")
	}
	table, _ := c.Section(codec.SectionRegions)
	data, _ := c.Section(codec.SectionPayload)
	le := binary.LittleEndian
	src := func(v int64) func(tb, d []byte) ([]byte, []byte) {
		return func(tb, d []byte) ([]byte, []byte) { le.PutUint64(d[at:], uint64(v)); return tb, d }
	}
	for name, change := range map[string]func(tb, d []byte) ([]byte, []byte){
		"forward":       src(cp.off + 1),
		"itself":        src(cp.off),
		"overlapping":   src(cp.off - cp.n + 1),
		"past the end":  src(1 << 40),
		"negative":      src(-1),
		"flags":         func(tb, d []byte) ([]byte, []byte) { tb[entry+10] = 1; return tb, d },
		"section type":  func(tb, d []byte) ([]byte, []byte) { copy(tb[entry+12:], "META"); return tb, d },
		"7 bytes":       func(tb, d []byte) ([]byte, []byte) { le.PutUint64(tb[entry+16:], 7); return tb, d },
		"length beyond": func(tb, d []byte) ([]byte, []byte) { le.PutUint64(tb[entry:], uint64(cp.n+1)); return tb, d },
	} {
		tb, d := change(bytes.Clone(table), bytes.Clone(data))
		bad := &codec.Container{Header: c.Header, Sections: []codec.Section{{Type: codec.SectionRegions, Data: tb}, {Type: codec.SectionPayload, Data: d}}}
		if _, err := parseRegions(bad); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	// Beyond the window: a copy may reach back repeatWindow bytes, no more.
	far := &codec.Container{Header: codec.Header{OriginalSize: repeatWindow + 2*maxRegion}}
	tb := le.AppendUint32(nil, 6)
	for range 5 {
		tb = le.AppendUint64(tb, maxRegion)
		tb = append(tb, byte(codec.MethodStored), 1, 0, 0)
		tb = append(tb, "DATA"...)
		tb = le.AppendUint64(tb, 0)
	}
	tb = le.AppendUint64(tb, maxRegion)
	tb = append(tb, byte(codec.MethodCopy), 1, 0, 0)
	tb = append(tb, "DATA"...)
	tb = le.AppendUint64(tb, 8)
	far.Sections = []codec.Section{{Type: codec.SectionRegions, Data: tb}, {Type: codec.SectionPayload, Data: le.AppendUint64(nil, maxRegion-1)}}
	// (Stored regions of no DATA bytes decode wrong, but the table parses.)
	if _, err := parseRegions(far); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("beyond the window: got %v", err)
	}
	le.PutUint64(far.Sections[1].Data, maxRegion) // exactly the window back
	if _, err := parseRegions(far); err != nil {
		t.Errorf("a copy from the window's start: %v", err)
	}
}

// TestHistory: the ring of decoded bytes gives back any range still kept.
func TestHistory(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := randomData(100000)
	h := &history{buf: make([]byte, 7777)}
	for n := 0; n < len(all); {
		k := min(rng.IntN(20000), len(all)-n)
		h.write(all[n : n+k])
		n += k
		for range 5 {
			m := rng.IntN(min(n, 7777) + 1)
			off := n - min(n, 7777) + rng.IntN(min(n, 7777)-m+1)
			got := make([]byte, m)
			h.read(int64(off), got)
			if !bytes.Equal(got, all[off:off+m]) {
				t.Fatalf("after %d bytes, %d at %d differ", n, m, off)
			}
		}
	}
}

// TestRegionsHybrid: an image of a hybrid region (the tiny model) between a
// cm and a stored region restores, with the header's model identity.
func TestRegionsHybrid(t *testing.T) {
	cat, _ := modelsDir(t, "tiny", tinyCfg, 9)
	opt := Options{Catalog: cat, Model: "tiny", Engine: "go", FinetuneSteps: FinetuneByLevel}
	j := newJob(opt)
	ctx := context.Background()
	txt, rnd := prose(6000), randomData(5000)
	h, err := neuralMethod{codec.MethodHybrid}.encode(ctx, j, txt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := codeRegion(ctx, j, txt, kindText, 0) // level 6 runs the hybrid: it loses to cm here
	if err != nil || c.method != regionCM {
		t.Fatalf("text region: %v, %+v", err, c)
	}
	s, err := codeRegion(ctx, j, rnd, kindRandom, 0)
	if err != nil || s.method != codec.MethodStored {
		t.Fatalf("random region: %v, %+v", err, s)
	}
	e, err := assembleRegions(j, []*codedRegion{
		c, {n: len(txt), method: codec.MethodHybrid, flags: h.flags, modelID: h.modelID, model: h.model, sections: h.sections}, s,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(txt, txt, rnd)
	img := &codec.Container{
		Header:   codec.Header{Method: codec.MethodRegions, ModelID: e.modelID, OriginalSize: int64(len(want)), SHA256: sha256Sum(want), Name: "mixed"},
		Sections: e.sections,
	}
	var b bytes.Buffer
	if err := codec.Write(&b, img); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := writeFile(t, dir, "mixed.zpng.png", b.Bytes())
	out := filepath.Join(dir, "out")
	if _, err := Decompress(ctx, p, out, Options{Catalog: cat, Engine: "go", Threads: 2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Error("restored bytes differ")
	}
}
