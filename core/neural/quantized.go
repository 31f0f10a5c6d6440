package neural

import (
	"sync"

	"zpng/core/catalog"
	"zpng/core/model"
)

// quantized holds the integer form of each model file used in this process,
// by identity: quantizing the large model takes most of a second, and a
// compression needs it twice, to code the file and to check the image.
// Engines and deltas only read a model.Quantized (ApplyDelta clones it).
var quantized sync.Map // [32]byte → *model.Quantized

// quantize returns the integer form of m, whose float weights are w (nil:
// read them when needed).
func quantize(m *catalog.Model, w *model.Weights) (*model.Quantized, error) {
	if q, ok := quantized.Load(m.ID); ok {
		return q.(*model.Quantized), nil
	}
	if w == nil {
		var err error
		if w, err = m.Weights(); err != nil {
			return nil, err
		}
	}
	q, err := model.Quantize(w)
	if err != nil {
		return nil, err
	}
	quantized.Store(m.ID, q)
	return q, nil
}
