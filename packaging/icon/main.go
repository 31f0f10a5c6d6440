// Command icon draws the ZPNG application icon: a rounded square of
// coloured static with a white "Z" on it. The picture depends only on the
// size, so the committed packaging/icon.png can always be drawn again:
//
//	go run ./packaging/icon -o packaging/icon.png
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

func main() {
	out := flag.String("o", "packaging/icon.png", "output PNG")
	size := flag.Int("size", 512, "width and height in pixels")
	flag.Parse()
	if *size < 16 || *size > 4096 {
		fmt.Fprintln(os.Stderr, "icon: -size must be between 16 and 4096")
		os.Exit(2)
	}
	if err := write(*out, Draw(*size)); err != nil {
		fmt.Fprintln(os.Stderr, "icon:", err)
		os.Exit(1)
	}
}

func write(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// The design is laid out on a 512×512 canvas and scaled to the size drawn.
const (
	canvas  = 512.0
	margin  = 16.0        // transparent border around the square
	radius  = 88.0        // corner radius of the square
	cells   = 16          // static cells per side
	samples = 4           // anti-aliasing: samples×samples per pixel
	seed    = 0x5a50_4e47 // "ZPNG"
)

// zShape is the outline of the letter, clockwise from the top-left corner.
var zShape = [][2]float64{
	{136, 120}, {376, 120}, {376, 172}, {214, 340}, {376, 340},
	{376, 392}, {136, 392}, {136, 340}, {298, 172}, {136, 172},
}

// shadowOffset moves the letter's shadow down and to the right.
var shadowOffset = [2]float64{7, 9}

// Draw returns the icon at size×size pixels.
func Draw(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	static := staticColours()
	scale := canvas / float64(size)
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			// Average premultiplied colour over the pixel's samples.
			var r, g, b, a float64
			for sy := 0; sy < samples; sy++ {
				for sx := 0; sx < samples; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/samples) * scale
					y := (float64(py) + (float64(sy)+0.5)/samples) * scale
					c, alpha := sample(x, y, static)
					r += c[0] * alpha
					g += c[1] * alpha
					b += c[2] * alpha
					a += alpha
				}
			}
			if a == 0 {
				continue
			}
			n := float64(samples * samples)
			img.SetNRGBA(px, py, color.NRGBA{
				R: byteOf(r / a), G: byteOf(g / a), B: byteOf(b / a), A: byteOf(a / n),
			})
		}
	}
	return img
}

// sample returns the colour (0..1 per channel) and coverage at one point
// of the 512×512 canvas.
func sample(x, y float64, static [cells][cells][3]float64) ([3]float64, float64) {
	if !inRoundedSquare(x, y) {
		return [3]float64{}, 0
	}
	switch {
	case inPolygon(x, y, zShape, [2]float64{}):
		return [3]float64{1, 1, 1}, 1
	case inPolygon(x, y, zShape, shadowOffset):
		return [3]float64{0.05, 0.05, 0.08}, 1
	}
	cell := (canvas - 2*margin) / cells
	cx := clamp(int((x-margin)/cell), 0, cells-1)
	cy := clamp(int((y-margin)/cell), 0, cells-1)
	return static[cy][cx], 1
}

// staticColours picks the colour of every cell: random RGB, like the
// pixels of a ZPNG image, darkened a little so that the letter stands out.
func staticColours() [cells][cells][3]float64 {
	var c [cells][cells][3]float64
	state := uint64(seed)
	for y := range c {
		for x := range c[y] {
			v := splitmix64(&state)
			for i := 0; i < 3; i++ {
				c[y][x][i] = 0.12 + 0.78*float64(byte(v>>(8*i)))/255
			}
		}
	}
	return c
}

// splitmix64 is a small fixed generator, so the icon never depends on the
// Go version's math/rand.
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func inRoundedSquare(x, y float64) bool {
	lo, hi := margin, canvas-margin
	if x < lo || x >= hi || y < lo || y >= hi {
		return false
	}
	// Distance to the nearest corner centre, outside the inner cross.
	cx := min(max(x, lo+radius), hi-radius)
	cy := min(max(y, lo+radius), hi-radius)
	dx, dy := x-cx, y-cy
	return dx*dx+dy*dy <= radius*radius
}

// inPolygon reports whether (x, y) lies inside poly moved by off (even-odd rule).
func inPolygon(x, y float64, poly [][2]float64, off [2]float64) bool {
	inside := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		xi, yi := poly[i][0]+off[0], poly[i][1]+off[1]
		xj, yj := poly[j][0]+off[0], poly[j][1]+off[1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			inside = !inside
		}
	}
	return inside
}

func byteOf(v float64) uint8 { return uint8(clamp(int(v*255+0.5), 0, 255)) }

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }
