package classic

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"zpng/codec"
	"zpng/codec/internal/sample"
)

func compress(t *testing.T, m codec.Method, src []byte) []byte {
	return sample.Compress(t, NewCompressor, m, src)
}

func decompress(m codec.Method, payload []byte, n int64) ([]byte, error) {
	return sample.Decompress(NewDecompressor, m, payload, n)
}

func TestRoundTrip(t *testing.T) {
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog. "), 300)
	for _, m := range []codec.Method{codec.MethodStored, codec.MethodZstd, codec.MethodXz} {
		for _, src := range [][]byte{nil, {42}, text, sample.Random(1, 5000)} {
			payload := compress(t, m, src)
			got, err := decompress(m, payload, int64(len(src)))
			if err != nil || !bytes.Equal(got, src) {
				t.Fatalf("%s, %d bytes: %d bytes back, %v", m, len(src), len(got), err)
			}
			if m != codec.MethodStored && len(src) == len(text) && len(payload) > len(src)/10 {
				t.Errorf("%s: text of %d bytes in %d", m, len(src), len(payload))
			}
		}
	}
}

// TestWrongSize: a payload that holds more or fewer bytes than the
// container declares is refused with ErrCorrupt.
func TestWrongSize(t *testing.T) {
	src := sample.Random(2, 3000)
	for _, m := range []codec.Method{codec.MethodStored, codec.MethodZstd, codec.MethodXz} {
		payload := compress(t, m, src)
		for _, n := range []int64{int64(len(src)) - 1, int64(len(src)) + 1} {
			if _, err := decompress(m, payload, n); !errors.Is(err, codec.ErrCorrupt) {
				t.Errorf("%s: %d bytes declared for %d: %v, want ErrCorrupt", m, n, len(src), err)
			}
		}
	}
}

func TestNotClassical(t *testing.T) {
	if _, err := NewCompressor(codec.MethodCM, io.Discard, 1); !errors.Is(err, codec.ErrUnsupportedMethod) {
		t.Errorf("compressor of method cm: %v", err)
	}
	if _, err := NewDecompressor(codec.MethodNeural, nil, 0); !errors.Is(err, codec.ErrUnsupportedMethod) {
		t.Errorf("decompressor of method neural: %v", err)
	}
}
