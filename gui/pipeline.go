//go:build !nogui

package gui

import (
	"context"

	"zpng/core"
)

// Pipeline is the part of package core that the window drives. The window
// always runs Core; the interface keeps the queue logic apart from it.
type Pipeline interface {
	Compress(ctx context.Context, input, output string, opt core.Options) (*core.Result, error)
	Decompress(ctx context.Context, input, output string, opt core.Options) (*core.Result, error)
	// StoredName is the file name recorded in a ZPNG image.
	StoredName(input string) (string, error)
	IsZPNG(path string) bool
}

// Core is the real pipeline of package core.
type Core struct{}

func (Core) Compress(ctx context.Context, input, output string, opt core.Options) (*core.Result, error) {
	return core.Compress(ctx, input, output, opt)
}

func (Core) Decompress(ctx context.Context, input, output string, opt core.Options) (*core.Result, error) {
	return core.Decompress(ctx, input, output, opt)
}

func (Core) StoredName(input string) (string, error) {
	info, err := core.Inspect(input)
	if err != nil {
		return "", err
	}
	return core.RestoredName(info.StoredName, input), nil
}

func (Core) IsZPNG(path string) bool { return core.IsZPNG(path) }
