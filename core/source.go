package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"zpng/codec"
	"zpng/core/archive"
)

// Source is what a compression reads.
type Source struct {
	// Paths are one file, one folder, or several files and folders. A
	// folder, or several paths, make an image of a tree that restores as a
	// folder (archive.Scan says how paths become its entries).
	Paths []string
	// Reader, used when Paths is empty, is read to its end as one file
	// (standard input).
	Reader io.Reader
	// Name is the name stored in the image. "" means the base name of the
	// file or folder; for several paths the output's name without
	// ".zpng.png"; for a Reader "stdin".
	Name string
}

// input is a Source opened for a compression.
type input struct {
	path    string // the one file or folder named; "" for several or a stream
	display string // for Result.Input
	name    string // stored in the header
	size    int64  // bytes to read, as far as known
	listing *archive.Listing
	data    []byte // a stream's bytes, read at once
}

// openSource checks src and finds its size without reading its files.
func openSource(src Source) (*input, error) {
	in := &input{}
	switch {
	case len(src.Paths) == 0 && src.Reader == nil:
		return nil, errors.New("nothing to compress")
	case len(src.Paths) == 0:
		data, err := io.ReadAll(io.LimitReader(src.Reader, codec.MaxOriginalSize+1))
		if err != nil {
			return nil, err
		}
		if len(data) > codec.MaxOriginalSize {
			return nil, fmt.Errorf("the input holds more than %d bytes, the most an image holds", int64(codec.MaxOriginalSize))
		}
		in.display, in.name, in.data, in.size = "stdin", "stdin", data, int64(len(data))
	case len(src.Paths) == 1:
		in.path, in.display = src.Paths[0], src.Paths[0]
		st, err := os.Stat(in.path)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			if in.listing, err = archive.Scan(src.Paths); err != nil {
				return nil, err
			}
			in.size = in.listing.Size()
			abs, err := filepath.Abs(in.path)
			if err != nil {
				return nil, err
			}
			in.name = storedName(abs)
			break
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file or a folder", in.path)
		}
		if st.Size() > codec.MaxOriginalSize {
			return nil, fmt.Errorf("%s is %d bytes; ZPNG holds at most %d", in.path, st.Size(), int64(codec.MaxOriginalSize))
		}
		in.size, in.name = st.Size(), storedName(in.path)
	default:
		var err error
		if in.listing, err = archive.Scan(src.Paths); err != nil {
			return nil, err
		}
		in.size = in.listing.Size()
		in.display = strings.Join(src.Paths, ", ")
	}
	if src.Name != "" {
		in.name = storedName(src.Name)
		if in.name == "" || in.name == "." || in.name == "/" {
			return nil, fmt.Errorf("name %q: want a file name", src.Name)
		}
	}
	return in, nil
}

// outputFor returns the image's path for output: "" means beside the file
// or folder, a folder means in it; several paths or a stream need one.
func (in *input) outputFor(output string) (string, error) {
	base := in.name
	if in.path != "" {
		abs, err := filepath.Abs(in.path)
		if err != nil {
			return "", err
		}
		base = filepath.Base(abs)
		switch {
		case output != "":
		case in.listing == nil:
			return in.path + DefaultSuffix, nil
		case filepath.Base(filepath.Clean(in.path)) == base:
			return filepath.Clean(in.path) + DefaultSuffix, nil
		default: // "." or ".."
			return filepath.Join(filepath.Dir(abs), base+DefaultSuffix), nil
		}
	}
	if output == "" {
		return "", errors.New("several files or a stream need an output file (-o NAME.zpng.png)")
	}
	if isDir(output) {
		if in.name == "" {
			in.name = "files"
			base = in.name
		}
		return filepath.Join(output, base+DefaultSuffix), nil
	}
	if in.name == "" {
		in.name = storedName(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(output), DefaultSuffix), ".png"))
	}
	return output, nil
}

// read returns the bytes to code and, for a tree, its TREE section and
// entries.
func (in *input) read(j *job) (data, tree []byte, entries []archive.Entry, notes []string, err error) {
	switch {
	case in.listing != nil:
		t, err := in.listing.Read(func(done int64) { j.progress.update(done, 0, false) })
		if err != nil {
			return nil, nil, nil, nil, err
		}
		return t.Data, archive.Marshal(t.Entries), t.Entries, t.Notes, nil
	case in.path != "":
		data, err := os.ReadFile(in.path)
		return data, nil, nil, nil, err
	}
	return in.data, nil, nil, nil, nil
}
