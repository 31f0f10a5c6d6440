package core

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"zpng/codec"
	"zpng/core/archive"
)

// DefaultSuffix is appended to the input name to name the PNG.
const DefaultSuffix = ".zpng.png"

// MaxRestoredName is the longest name, in bytes, that a restore creates:
// file systems allow 255 bytes, and the temporary file beside it
// (".NAME.tmpXXXXXXXXXXXXX") needs 18 more.
const MaxRestoredName = 230

// SafeName reduces a stored file name to a base name that is safe to create
// in a folder: no directories, no control characters, no invisible format
// characters (U+202E and its kind can disguise an extension), not "." or
// "..", and at most MaxRestoredName bytes with its extension kept. It
// returns "" when nothing usable is left.
func SafeName(name string) string {
	return shorten(cleanName(name), MaxRestoredName)
}

// cleanName is SafeName before the length limit: the base name, cleaned as
// archive.CleanName cleans each name of a tree.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return archive.CleanName(name)
}

// shorten cuts name to at most max bytes at a rune boundary, keeping its
// extension when the extension is short.
func shorten(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > 16 {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	for len(stem)+len(ext) > max {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	return stem + ext
}

// nameChange says how a restore's name differs from the stored one, or "".
func nameChange(stored, restored string) string {
	if stored == restored {
		return ""
	}
	var why []string
	if strings.ContainsFunc(stored, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
		why = append(why, "invisible format characters removed")
	}
	if len(cleanName(stored)) > MaxRestoredName {
		why = append(why, fmt.Sprintf("shortened to %d bytes", MaxRestoredName))
	}
	if len(why) == 0 {
		why = append(why, "made safe for this file system")
	}
	return fmt.Sprintf("the stored name %q restores as %q (%s)", stored, restored, strings.Join(why, ", "))
}

// storedName is the base name of path as the header stores it: valid UTF-8,
// at most codec.MaxNameLen bytes, cut at a rune boundary.
func storedName(path string) string {
	name := strings.ToValidUTF8(filepath.Base(path), "_")
	for len(name) > codec.MaxNameLen {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// checkOutput refuses to write over input, or over an existing file unless
// force is set.
func checkOutput(input, output string, force bool) error {
	out, err := os.Stat(output)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if in, err := os.Stat(input); err == nil && os.SameFile(in, out) {
		return fmt.Errorf("output %s is the input file", output)
	}
	if out.IsDir() {
		return fmt.Errorf("output %s is a folder", output)
	}
	if !force {
		return fmt.Errorf("%w: %s (use --force to overwrite)", ErrExists, output)
	}
	return nil
}

// TempFor creates a temporary file in output's folder, so that the final
// rename stays within one file system. Its mode is 0666 less the umask, as
// os.Create gives: os.CreateTemp's 0600 would leave every image and restored
// file readable by its owner alone.
func TempFor(output string) (*os.File, error) {
	prefix := filepath.Join(filepath.Dir(output), "."+filepath.Base(output)+".tmp")
	for range 100 {
		f, err := os.OpenFile(prefix+strconv.FormatUint(rand.Uint64(), 36), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no free temporary name beside %s", output)
}

// publish moves the finished temporary file to output. Without force it
// links rather than renames, so that a file appearing at output meanwhile is
// never replaced.
func publish(tmp, output string, force bool) error {
	if force {
		return os.Rename(tmp, output)
	}
	if err := os.Link(tmp, output); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s (use --force to overwrite)", ErrExists, output)
		}
		// No hard links on this file system: check, then rename.
		if _, serr := os.Lstat(output); serr == nil {
			return fmt.Errorf("%w: %s (use --force to overwrite)", ErrExists, output)
		}
		return os.Rename(tmp, output)
	}
	return os.Remove(tmp)
}
