package neural

import (
	"testing"

	"zpng/core/model"
)

func TestStreamCount(t *testing.T) {
	minSegment := DefaultPolicy().MinSegmentBytes
	for _, c := range []struct {
		n    int64
		want int
	}{{0, 1}, {1, 1}, {32<<10 - 1, 1}, {32 << 10, 2}, {1 << 20, 64}, {100 << 20, 1024}, {1 << 40, 1024}} {
		if got := streamCount(c.n, minSegment); got != c.want {
			t.Errorf("streamCount(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestMinTuneBytes: the smallest file worth a fine-tune grows with the
// parameters the fine-tune trains (the delta's size): about 96 KiB for the
// 2×256 small model, about 418 kB for the 4×512 large one.
func TestMinTuneBytes(t *testing.T) {
	perParam := DefaultPolicy().TuneBytesPerParam
	for _, c := range []struct {
		cfg  model.Config
		want int64
	}{
		{model.Config{Layers: 2, Hidden: 256, Embed: 256}, 38 * 2560},
		{model.Config{Layers: 4, Hidden: 512, Embed: 512}, 38 * 11008},
		{model.Config{Layers: 2, Hidden: 32, Embed: 32}, 38 * 544},
	} {
		w, err := model.NewWeights(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := minTuneBytes(w, perParam); got != c.want {
			t.Errorf("%v: minTuneBytes %d, want %d", c.cfg, got, c.want)
		}
	}
}

// TestZeroPolicy: settings without a policy run with DefaultPolicy.
func TestZeroPolicy(t *testing.T) {
	var s Settings
	if s.policy() != DefaultPolicy() {
		t.Errorf("zero policy gives %+v", s.policy())
	}
}
