package neural

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"zpng/codec"
	"zpng/codec/entropy"
	"zpng/core/engine"
)

// TestRunAheadMatchesStepping: the tables the encoder's network computes
// ahead, in one predictor or in one a thread (openAhead), are the ones a
// predictor of all the streams stepped as the decoder steps it gives, for
// streams of unequal length.
func TestRunAheadMatchesStepping(t *testing.T) {
	net := tinyNetwork(t)
	src := []byte("the run-ahead network feeds each stream its own bytes, and the last byte when it ends.")
	const B = 5
	sizes := entropy.SplitSizes(int64(len(src)), B)
	if sizes[0] == sizes[B-1] {
		t.Fatalf("streams of equal length %v: the test wants unequal ones", sizes)
	}
	offs := offsets(sizes)
	ref, err := net.f.NewPredictor(net.q, B, net.eo)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	var want [][]uint16
	in, freqs := make([]byte, B), make([]uint16, 256*B)
	for step := range sizes[0] {
		if err := ref.Step(in, freqs); err != nil {
			t.Fatal(err)
		}
		want = append(want, slices.Clone(freqs))
		for b := range B {
			if sizes[b] > step {
				in[b] = src[offs[b]+step]
			}
		}
	}
	for _, threads := range []int{1, 2, 3} {
		eo := net.eo
		eo.Threads = threads
		ps, err := openAhead(net.f, net.q, B, eo)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != threads {
			t.Errorf("%d threads: %d predictors, want one a thread", threads, len(ps))
		}
		ahead := runAhead(context.Background(), ps, src, sizes, offs)
		for step := range sizes[0] {
			got, err := ahead.next()
			if err != nil {
				t.Fatal(err)
			}
			for b := range B {
				if sizes[b] > step && !slices.Equal(want[step][256*b:256*(b+1)], got[256*b:256*(b+1)]) {
					t.Fatalf("%d threads, step %d stream %d: the run-ahead table differs", threads, step, b)
				}
			}
		}
		ahead.stop()
		closeAll(ps)
	}
}

// failingPredictor fails its nth step.
type failingPredictor struct {
	engine.Predictor
	n int
}

func (f *failingPredictor) Step(in []byte, freqs []uint16) error {
	if f.n--; f.n < 0 {
		return errors.New("engine failed")
	}
	return f.Predictor.Step(in, freqs)
}

// TestEncodeStreamsStops: a cancelled job and a failing engine end the
// encoding with their error, and the network's goroutine is gone when
// encodeStreams returns (the predictor is closed right after).
func TestEncodeStreamsStops(t *testing.T) {
	net := tinyNetwork(t)
	src := bytes.Repeat([]byte("stop me "), 4096)
	for _, c := range []struct {
		name   string
		cancel bool
		fail   int
		want   error
	}{{"cancel", true, 1 << 30, context.Canceled}, {"engine", false, 100, nil}} {
		t.Run(c.name, func(t *testing.T) {
			// Two predictors side by side (openAhead), the second failing.
			p, err := net.f.NewPredictor(net.q, 2, net.eo)
			if err != nil {
				t.Fatal(err)
			}
			q, err := net.f.NewPredictor(net.q, 2, net.eo)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			fp := &failingPredictor{Predictor: p, n: c.fail}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := func(n int64) {
				if c.cancel && n > 1000 {
					cancel()
				}
			}
			_, _, err = encodeStreams(ctx, []engine.Predictor{q, fp}, src, codec.MethodHybrid2, 0, done)
			p.Close()
			switch {
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err = %v, want %v", err, c.want)
			case c.want == nil && (err == nil || err.Error() != "engine failed"):
				t.Fatalf("err = %v, want the engine's error", err)
			}
		})
	}
}
