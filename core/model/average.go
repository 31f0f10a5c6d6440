package model

import (
	"errors"
	"fmt"
)

// Average returns the element-wise mean of models of one shape. Averaging
// runs trained further from one shared start (a "model soup") often predicts
// better than any one of them; models trained apart usually do not average.
func Average(ws ...*Weights) (*Weights, error) {
	if len(ws) == 0 {
		return nil, errors.New("model: nothing to average")
	}
	for i, w := range ws {
		if err := w.Validate(); err != nil {
			return nil, fmt.Errorf("model %d: %w", i+1, err)
		}
		if w.Config != ws[0].Config {
			return nil, fmt.Errorf("model: cannot average a %v model with a %v one", ws[0].Config, w.Config)
		}
	}
	avg, err := NewWeights(ws[0].Config)
	if err != nil {
		return nil, err
	}
	n := float64(len(ws))
	for name, t := range avg.Tensors {
		for i := range t {
			sum := 0.0 // float64: the mean of float32 values, rounded once
			for _, w := range ws {
				sum += float64(w.Tensors[name][i])
			}
			t[i] = float32(sum / n)
		}
	}
	return avg, nil
}
