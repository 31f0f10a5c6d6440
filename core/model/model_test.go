package model

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var tiny = Config{Layers: 2, Hidden: 8, Embed: 8}

func TestPresets(t *testing.T) {
	for _, name := range PresetNames() {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := Preset("nope"); err == nil {
		t.Error("unknown preset accepted")
	}
	// 256·512 + 4·(2·1536·512 + 2·1536) + 256·512 + 256
	if got, want := (Config{4, 512, 512}).ParamCount(), 6566144; got != want {
		t.Errorf("ParamCount(4x512) = %d, want %d", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{{0, 8, 8}, {9, 8, 8}, {1, 0, 0}, {1, 1025, 1025}, {1, 8, 16}}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestParamSpecs(t *testing.T) {
	specs := ParamSpecs(Config{Layers: 2, Hidden: 4, Embed: 4})
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	want := "embed.weight gru.weight_ih_l0 gru.weight_hh_l0 gru.bias_ih_l0 gru.bias_hh_l0 " +
		"gru.weight_ih_l1 gru.weight_hh_l1 gru.bias_ih_l1 gru.bias_hh_l1 head.weight head.bias"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("names\n got %s\nwant %s", got, want)
	}
	if s := specs[1].Shape; s[0] != 12 || s[1] != 4 {
		t.Errorf("weight_ih_l0 shape %v", s)
	}
}

func TestRoundTrip(t *testing.T) {
	w, err := RandomWeights(tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	meta := &Meta{Preset: "tiny", Training: &Training{Steps: 10, Device: "cpu", ValidationBPB: 2.5},
		BenchmarkBPB: 2.25, Extra: map[string]string{"note": "x"}}
	for _, dt := range []DType{F32, F16, BF16} {
		data, err := Encode(w, meta, dt)
		if err != nil {
			t.Fatal(err)
		}
		if hl := binary.LittleEndian.Uint64(data); hl%8 != 0 {
			t.Errorf("%s: header length %d not 8-aligned", dt, hl)
		}
		got, m, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		if got.Config != tiny || m.Config != tiny || m.Preset != "tiny" || m.Training.Steps != 10 ||
			m.BenchmarkBPB != 2.25 || m.Extra["note"] != "x" {
			t.Errorf("%s: meta %+v", dt, m)
		}
		tol := map[DType]float64{F32: 0, F16: 1.0 / 2048, BF16: 1.0 / 256}[dt]
		for name, a := range w.Tensors {
			b := got.Tensors[name]
			for i := range a {
				if d := math.Abs(float64(a[i] - b[i])); d > tol*math.Abs(float64(a[i]))+tol/16384 {
					t.Fatalf("%s %s[%d]: %g -> %g", dt, name, i, a[i], b[i])
				}
			}
		}
		// Encoding the decoded weights again is stable.
		again, _ := Encode(got, m, dt)
		if !bytes.Equal(again, data) {
			t.Errorf("%s: re-encoding differs", dt)
		}
	}
}

func TestSaveLoadIdentity(t *testing.T) {
	w, _ := RandomWeights(tiny, 2)
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(p, w, nil, F16); err != nil {
		t.Fatal(err)
	}
	got, _, err := Load(p)
	if err != nil || got.Config != tiny {
		t.Fatal(err)
	}
	if st, err := os.Stat(p); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
		t.Errorf("model file mode %v, want -rw-r--r--", st.Mode())
	}
	id1, err := Identity(p)
	if err != nil {
		t.Fatal(err)
	}
	w.Tensors["head.bias"][0] += 1
	Save(p, w, nil, F16)
	id2, _ := Identity(p)
	if id1 == id2 {
		t.Error("identity did not change with the weights")
	}
}

func TestHalfConversions(t *testing.T) {
	cases := map[float32]uint16{0: 0, 1: 0x3c00, -2: 0xc000, 65504: 0x7bff, 5.960464477539063e-08: 1,
		6.103515625e-05: 0x0400, 1.0009765625: 0x3c01, 1 + 1.0/4096: 0x3c00, 1 + 3.0/2048: 0x3c02, 1 + 1.0/2048: 0x3c00}
	for f, h := range cases {
		if got := float32ToF16(f); got != h {
			t.Errorf("f16(%g) = %#x, want %#x", f, got, h)
		}
	}
	for h := 0; h < 0x10000; h++ {
		if h&0x7c00 == 0x7c00 {
			continue
		}
		if got := float32ToF16(f16ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("f16 %#x round trip gives %#x", h, got)
		}
	}
	if float32ToF16(70000)&0x7fff != 0x7c00 {
		t.Error("70000 did not overflow to inf")
	}
	if got := float32ToBF16(1 + 1.0/256); got != 0x3f80 {
		t.Errorf("bf16 tie = %#x", got)
	}
	if got := float32ToBF16(1 + 3.0/256); got != 0x3f82 {
		t.Errorf("bf16 tie up = %#x", got)
	}
}

func TestEncodeRejects(t *testing.T) {
	w, _ := RandomWeights(tiny, 3)
	w.Tensors["head.bias"][1] = 1e6
	if _, err := Encode(w, nil, F16); err == nil {
		t.Error("F16 overflow accepted")
	}
	w.Tensors["head.bias"][1] = float32(math.NaN())
	if _, err := Encode(w, nil, F32); err == nil {
		t.Error("NaN accepted")
	}
	delete(w.Tensors, "head.bias")
	if _, err := Encode(w, nil, F32); err == nil {
		t.Error("missing tensor accepted")
	}
}

func TestDecodeRejects(t *testing.T) {
	w, _ := RandomWeights(tiny, 4)
	good, _ := Encode(w, &Meta{Preset: "tiny"}, F32)
	hl := binary.LittleEndian.Uint64(good)
	hdr := string(good[8 : 8+hl])
	withHeader := func(h string) []byte {
		for len(h)%8 != 0 {
			h += " "
		}
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(out, h...), good[8+hl:]...)
	}
	cases := map[string][]byte{
		"empty":           nil,
		"short":           good[:5],
		"huge header len": append(binary.LittleEndian.AppendUint64(nil, 1<<40), good[8:]...),
		"header past end": append(binary.LittleEndian.AppendUint64(nil, uint64(len(good))), good[8:]...),
		"truncated data":  good[:len(good)-4],
		"extra data":      append(append([]byte(nil), good...), 0, 0, 0, 0),
		"not json":        withHeader("[1,2,3]"),
		"bad dtype":       withHeader(strings.Replace(hdr, `"dtype":"F32"`, `"dtype":"I64"`, 1)),
		"bad shape":       withHeader(strings.Replace(hdr, `"shape":[256]`, `"shape":[255]`, 1)),
		"bad offsets":     withHeader(strings.Replace(hdr, `"data_offsets":[0,`, `"data_offsets":[4,`, 1)),
		"unknown tensor":  withHeader(strings.Replace(hdr, `"head.bias"`, `"head.bias2"`, 1)),
		"meta mismatch":   withHeader(strings.Replace(hdr, `\"layers\":2`, `\"layers\":3`, 1)),
		"unknown field":   withHeader(strings.Replace(hdr, `"dtype":"F32"`, `"dtype":"F32","x":1`, 1)),
	}
	nan := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(nan[8+hl:], 0x7fc00000)
	cases["nan value"] = nan
	for name, data := range cases {
		if _, _, err := Decode(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := Decode(good); err != nil {
		t.Fatalf("good file rejected: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	w, _ := RandomWeights(Config{Layers: 1, Hidden: 2, Embed: 2}, 5)
	for _, dt := range []DType{F32, F16, BF16} {
		data, _ := Encode(w, &Meta{Preset: "x"}, dt)
		f.Add(data)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		w, m, err := Decode(data)
		if err != nil {
			return
		}
		if m == nil || w.Validate() != nil {
			t.Fatal("accepted file gives invalid weights")
		}
	})
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
