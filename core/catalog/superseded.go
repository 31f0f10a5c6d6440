package catalog

import (
	"encoding/hex"
	"fmt"
)

// superseded names the pre-release models that zpng no longer ships, by
// identity (the SHA-256 of the file), so that an image made with one says
// which file it needs. The files are in weights/superseded/ of zpng's
// source.
var superseded = map[string]string{
	"ab7dd9a0404ed168d92e536931aec47d47075e0676b35f0e847f8c2cabf3759a": "small-v1",
	"d7efa64c4d56814a12ccd631c7e9800014c9ee6e236c3c671f22efbda84b0bc1": "small-v2",
	"dee0a4a8282e93e6d09a204671e43674b3efb5748166337eabb61a0cd9020f7c": "small-v3",
	"d5a4fd4dc28ff1b0a06065957daae32c118c39e5da9e24ed91e4e894d9bc5d7c": "small-v4",
	"04da0c1cceee5957d1e26331d1747ac52a3ac7b1b26847fcb1eb62921ba583af": "large-v1",
	"3bc5424393ca74d8077edf10e3d8efa8cfea5b8614a98570e14a4de3f8a285e6": "large-v2",
}

// Superseded names the file of a superseded model by its identity, and
// where it is, or returns "" for any other model. It reads no model file.
func Superseded(id [32]byte) string {
	if f, ok := superseded[hex.EncodeToString(id[:])]; ok {
		return fmt.Sprintf("%s, not shipped: weights/superseded/%s.safetensors in zpng's source", f, f)
	}
	return ""
}
