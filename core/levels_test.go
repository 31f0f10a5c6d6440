package core

import (
	"context"
	"strings"
	"testing"
)

func TestLevelChecks(t *testing.T) {
	for _, l := range []int{0, 1, 6, 9} {
		if err := CheckLevel(l); err != nil {
			t.Errorf("level %d: %v", l, err)
		}
	}
	for _, o := range []Options{{Level: -1}, {Level: 10}, {FinetuneSteps: -2}, {FinetuneSteps: MaxFinetuneSteps + 1},
		{Threads: -1}, {Threads: MaxThreads + 1}, {Device: "tpu"}, {Engine: "bogus"}} {
		if err := o.Check(); err == nil {
			t.Errorf("%+v passes Check", o)
		}
	}
}

// TestLevelPlans: what each level runs depends on the level and the file
// size only.
func TestLevelPlans(t *testing.T) {
	for _, tc := range []struct {
		level    int
		n        int64
		model    string
		finetune int
	}{
		{4, 1000, "small", 0},
		{6, 1 << 20, "large", 0},
		{6, 1<<20 + 1, "small", 0},
		{0, 1 << 20, "large", 0}, // 0 is the default level
		{7, 16 << 20, "large", 0},
		{8, 100 << 20, "large", 50},
		{9, 100 << 20, "large", 50},
	} {
		o := Options{Level: tc.level, FinetuneSteps: FinetuneByLevel}
		if m, f := o.modelFor(tc.n), o.finetuneSteps(); m != tc.model || f != tc.finetune {
			t.Errorf("level %d, %d bytes: model %s, %d fine-tune steps; want %s, %d", tc.level, tc.n, m, f, tc.model, tc.finetune)
		}
	}
	if o := (Options{Level: 8, FinetuneSteps: 0}); o.finetuneSteps() != 0 {
		t.Error("an explicit 0 fine-tune steps is overridden by the level")
	}
	if o := (Options{Level: 4, Model: "large"}); o.modelFor(1<<30) != "large" {
		t.Error("an explicit model is overridden by the level")
	}
}

// TestLevelCandidates: level 1 tries only stored and zstd, level 2 adds xz,
// level 3 cm.
func TestLevelCandidates(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "a.txt", prose(3000))
	for level, want := range map[int][]string{1: {"stored", "zstd"}, 2: {"stored", "zstd", "xz"}, 3: {"stored", "zstd", "xz", "cm"}} {
		r, err := Compress(context.Background(), in, t.TempDir(), Options{Level: level})
		if err != nil {
			t.Fatal(err)
		}
		var tried string
		for _, n := range r.Notes {
			if strings.HasPrefix(n, "auto: ") {
				tried = n
			}
		}
		for _, m := range []string{"stored", "zstd", "xz", "cm"} {
			has := strings.Contains(tried, m+" ")
			if has != strings.Contains(strings.Join(want, " ")+" ", m+" ") {
				t.Errorf("level %d tried %q; want exactly %v", level, tried, want)
			}
		}
	}
}
