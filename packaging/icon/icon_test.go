package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedIconIsCurrent checks that packaging/icon.png is what this
// program draws, so that the icon can always be made again from source.
func TestCommittedIconIsCurrent(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "icon.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	committed, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	drawn := Draw(512)
	if committed.Bounds() != drawn.Bounds() {
		t.Fatalf("icon.png is %v, want %v", committed.Bounds(), drawn.Bounds())
	}
	for y := 0; y < 512; y++ {
		for x := 0; x < 512; x++ {
			got := color.NRGBAModel.Convert(committed.At(x, y)).(color.NRGBA)
			if want := drawn.NRGBAAt(x, y); got != want {
				t.Fatalf("icon.png differs at (%d,%d): %v, drawn %v; run `go run ./packaging/icon`", x, y, got, want)
			}
		}
	}
}

// TestDesign checks the parts of the picture: transparent corners, a
// white letter in the middle, coloured static around it, shadow under it.
func TestDesign(t *testing.T) {
	img := Draw(512)
	at := func(x, y int) color.NRGBA { return img.NRGBAAt(x, y) }

	for _, p := range []image.Point{{0, 0}, {511, 0}, {0, 511}, {511, 511}, {20, 20}} {
		if a := at(p.X, p.Y).A; a != 0 {
			t.Errorf("corner %v has alpha %d, want 0", p, a)
		}
	}
	white := color.NRGBA{255, 255, 255, 255}
	for _, p := range []image.Point{{256, 256}, {150, 140}, {360, 370}} {
		if c := at(p.X, p.Y); c != white {
			t.Errorf("letter at %v is %v, want white", p, c)
		}
	}
	if c := at(380, 130); c.R > 40 || c.G > 40 || c.B > 40 || c.A != 255 {
		t.Errorf("shadow right of the top bar is %v, want near black", c)
	}
	// The static: opaque, and many different colours.
	seen := map[color.NRGBA]bool{}
	for y := 120; y < 400; y += 32 {
		for x := 40; x < 130; x += 32 {
			c := at(x, y)
			if c.A != 255 {
				t.Fatalf("static at (%d,%d) is not opaque: %v", x, y, c)
			}
			seen[c] = true
		}
	}
	if len(seen) < 20 {
		t.Errorf("static has %d distinct colours in 27 cells, want at least 20", len(seen))
	}
}

// TestDeterministic draws twice: the same picture, whatever the size.
func TestDeterministic(t *testing.T) {
	a, b := Draw(64), Draw(64)
	if string(a.Pix) != string(b.Pix) {
		t.Fatal("two drawings differ")
	}
}
