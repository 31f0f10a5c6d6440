package model

import (
	"testing"
)

func FuzzUnmarshal(f *testing.F) {
	_, m := randomModel(f, Config{Layers: 2, Hidden: 3, Embed: 3}, 1)
	data, _ := m.MarshalBinary()
	f.Add(data)
	f.Add(data[:20])
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Quantized
		if m.UnmarshalBinary(data) != nil {
			return
		}
		if m.Validate() != nil {
			t.Fatal("accepted an invalid model")
		}
	})
}

func FuzzApplyDelta(f *testing.F) {
	w, base := randomModel(f, Config{Layers: 2, Hidden: 3, Embed: 3}, 1)
	w.Tensors["head.bias"][0] += 0.5
	tuned, _ := Quantize(w)
	d, _ := Delta(base, tuned, nil)
	f.Add(d)
	d, _ = Delta(base, tuned, []string{"out.b", "l1.whh"})
	f.Add(d)
	f.Fuzz(func(t *testing.T, delta []byte) {
		m, err := ApplyDelta(base, delta)
		if err != nil {
			return
		}
		if m.Validate() != nil {
			t.Fatal("accepted delta gives an invalid model")
		}
	})
}
