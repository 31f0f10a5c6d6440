package core

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"zpng/codec"
	"zpng/core/archive"
	"zpng/core/catalog"
	"zpng/core/neural"
)

// Compress writes input, a file or a folder, as a ZPNG image to output (""
// = beside input, its name + ".zpng.png"; a folder = in that folder). The
// image is written to a temporary file, decoded again from that file and
// checked against the input's SHA-256 before it is moved into place.
func Compress(ctx context.Context, input, output string, opt Options) (*Result, error) {
	return CompressSource(ctx, Source{Paths: []string{input}}, output, opt)
}

// CompressSource is Compress of any Source: several files and folders in
// one image, or a stream.
func CompressSource(ctx context.Context, source Source, output string, opt Options) (*Result, error) {
	start := time.Now()
	if err := opt.Check(); err != nil {
		return nil, err
	}
	j := newJob(opt)
	ms, err := candidates(&j.opt)
	if err != nil {
		return nil, err
	}
	in, err := openSource(source)
	if err != nil {
		return nil, err
	}
	if output, err = in.outputFor(output); err != nil {
		return nil, err
	}
	if err := checkOutput(in.path, output, opt.Force); err != nil {
		return nil, err
	}
	j.progress.plan(compressPlan(ms, &j.opt, in.size)...)
	j.progress.begin("read", in.size)
	src, tree, entries, readNotes, err := in.read(j)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)

	var tried []string
	auto := len(ms) > 1
	if auto && len(src) == 0 {
		// Every method codes nothing to nothing; the network's would only
		// load a model to find that out.
		ms = slices.DeleteFunc(ms, func(m method) bool { return neural.IsMethod(m.id()) })
	} else if auto && incompressible(src) {
		ms = []method{methods[codec.MethodStored.String()].m}
		tried = append(tried, "incompressible (a fast zstd pass saves nothing): stored at once")
	} else if auto && j.opt.plan().regions && mixed(src) {
		ms = withRegions(ms, &j.opt)
	}

	// Try each candidate; keep the smallest.
	var best, bestC *encoded // bestC: the best classical one, the fallback
	var bestM, bestCM method
	var follows []*follower // checks that follow coding (check.go)
	defer func() {
		for _, f := range follows {
			f.stop()
		}
	}()
	for _, m := range ms {
		if auto && bestC != nil {
			j.bar = bestC.size()
		}
		e, err := m.encode(ctx, j, src)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, neural.ErrNotCompetitive) {
				tried = append(tried, err.Error())
				continue
			}
			if len(ms) == 1 {
				return nil, fmt.Errorf("%s: %w", m.name(), err)
			}
			tried = append(tried, fmt.Sprintf("%s failed: %v", m.name(), err))
			continue
		}
		if e.follow != nil {
			follows = append(follows, e.follow)
		}
		tried = append(tried, fmt.Sprintf("%s %d B", m.name(), e.size()))
		if best == nil || e.size() < best.size() {
			best, bestM = e, m
		}
		if !runsNetwork(m, e) && (bestC == nil || e.size() < bestC.size()) {
			bestC, bestCM = e, m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no method could compress %s: %s", in.display, strings.Join(tried, "; "))
	}
	for _, f := range follows {
		if f != best.follow && (bestC == nil || f != bestC.follow) {
			f.stop() // its image will not be written
		}
	}
	header := codec.Header{OriginalSize: int64(len(src)), SHA256: sum, Name: in.name}
	tmp, err := writeChecked(ctx, j, output, header, bestM, best, tree)
	if err != nil && runsNetwork(bestM, best) && ctx.Err() == nil && errors.Is(err, errSelfCheck) {
		// A neural image that does not decode is a bug (engines must agree
		// bit for bit); the file still gets stored, classically.
		checkErr := err
		if bestC == nil {
			bestCM = methods[codec.MethodXz.String()].m
			if bestC, err = bestCM.encode(ctx, j, src); err != nil {
				return nil, err
			}
			if bestC.follow != nil {
				follows = append(follows, bestC.follow)
			}
		}
		note := fmt.Sprintf("BUG: %s decode did not verify (%v); stored with %s instead — please report", bestM.name(), checkErr, bestCM.name())
		best, bestM = bestC, bestCM
		best.notes = append([]string{note}, best.notes...)
		tmp, err = writeChecked(ctx, j, output, header, bestM, best, tree)
	}
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp) // a no-op once published
	pngSize, err := fileSize(tmp)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := publish(tmp, output, opt.Force); err != nil {
		return nil, err
	}
	j.progress.finish()
	r := &Result{
		Input: in.display, Output: output, InputSize: int64(len(src)), OutputSize: pngSize,
		Method: bestM.name(), Model: best.model, SHA256: sum, Verified: true,
		Elapsed: time.Since(start), Notes: append(readNotes, best.notes...),
	}
	if tree != nil {
		r.Entries = len(entries) - 1
	}
	if auto {
		r.Notes = append(r.Notes, "auto: "+strings.Join(tried, ", "))
	}
	r.BitsPerByte = bitsPerByte(pngSize, r.InputSize)
	return r, nil
}

// runsNetwork says whether the image e of method m needs the network to
// decode: a neural method, or regions with hybrid regions.
func runsNetwork(m method, e *encoded) bool {
	return neural.IsMethod(m.id()) || m.id() == codec.MethodRegions && e.modelID != [32]byte{}
}

// errSelfCheck marks a new image that did not decode to the input.
var errSelfCheck = errors.New("self-check of the new image failed")

// writeChecked writes the image of e (made by m) to a temporary file next to
// output and decodes it again from that file. tree, if not nil, is the
// TREE section of an image of a tree; it follows META where a method puts
// that first, so that Inspect reads both without the payload. It returns
// the file's name; on error nothing is left.
func writeChecked(ctx context.Context, j *job, output string, h codec.Header, m method, e *encoded, tree []byte) (string, error) {
	h.Method, h.Flags, h.ModelID = m.id(), e.flags, e.modelID
	c := &codec.Container{Header: h, Sections: withTree(e.sections, tree)}
	j.progress.begin("write", 0)
	tmp, err := writeTemp(output, func(w io.Writer) error { return codec.Write(w, c) })
	if err != nil {
		return "", err
	}
	// Decode the written bytes, not the ones in memory; or, where the
	// payload was decoded while it was coded, check that the written file
	// holds exactly what was decoded.
	if err := ctx.Err(); err != nil {
		os.Remove(tmp)
		return "", err
	}
	check := func() error {
		_, _, err := decodeFile(ctx, j, tmp, io.Discard)
		return err
	}
	if e.follow != nil {
		check = func() error {
			if err := readBack(ctx, j, tmp, c); err != nil {
				return err
			}
			return e.follow.result(ctx)
		}
	}
	if err := check(); err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%w: %w", errSelfCheck, err)
	}
	return tmp, nil
}

// restoreTarget is where the image input restores to: output, or the
// stored name, made safe, in the folder output or beside the image; notes
// say how the name was changed.
func restoreTarget(c *codec.Container, input, output string) (string, []string) {
	if output != "" && !isDir(output) {
		return output, nil
	}
	var notes []string
	name := RestoredName(c.Name, input)
	if n := nameChange(c.Name, name); n != "" {
		notes = append(notes, n)
	}
	if output == "" {
		output = filepath.Dir(input)
	}
	return filepath.Join(output, name), notes
}

// Decompress restores the original file of a ZPNG image to output ("" = the
// stored name, reduced to a safe base name, in the image's folder). The file
// is written to a temporary file, read back and checked against the stored
// SHA-256 before it is moved into place. An image of a tree restores as a
// new folder (decompressTree).
func Decompress(ctx context.Context, input, output string, opt Options) (*Result, error) {
	start := time.Now()
	j := newJob(opt)
	j.progress.plan(0.1, 1, 0.2)
	j.progress.begin("read", 0)
	f, size, err := openSized(input)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := codec.Read(f, size)
	if err != nil {
		return nil, err
	}
	m, err := methodByID(c.Method)
	if err != nil {
		return nil, err
	}
	if c.IsTree() {
		return decompressTree(ctx, j, c, m, input, output, size, start)
	}
	output, notes := restoreTarget(c, input, output)
	if err := checkOutput(input, output, opt.Force); err != nil {
		return nil, err
	}
	j.progress.begin("decompress "+m.name(), c.OriginalSize)
	tmp, err := writeTemp(output, func(w io.Writer) error { return m.decode(ctx, j, c, w) })
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)

	// Check what reached the disk.
	j.progress.begin("verify", c.OriginalSize)
	sum, n, err := hashFile(ctx, j, tmp)
	if err != nil {
		return nil, err
	}
	if n != c.OriginalSize || sum != c.SHA256 {
		return nil, fmt.Errorf("%w: the restored file does not match the SHA-256 in the header", codec.ErrCorrupt)
	}
	if err := publish(tmp, output, opt.Force); err != nil {
		return nil, err
	}
	j.progress.finish()
	return &Result{
		Input: input, Output: output, InputSize: size, OutputSize: n,
		Method: m.name(), SHA256: sum, Verified: true, Elapsed: time.Since(start),
		BitsPerByte: bitsPerByte(size, n), Notes: notes,
	}, nil
}

// Verify decodes a ZPNG image fully and checks the result against the stored
// SHA-256. An image that does not verify is an error.
func Verify(ctx context.Context, input string, opt Options) (*Result, error) {
	start := time.Now()
	j := newJob(opt)
	j.progress.plan(0.1, 1)
	c, size, err := decodeFile(ctx, j, input, io.Discard)
	if err != nil {
		return nil, err
	}
	j.progress.finish()
	return &Result{
		Input: input, InputSize: size, OutputSize: c.OriginalSize, Method: c.Method.String(),
		SHA256: c.SHA256, Verified: true, Elapsed: time.Since(start),
		BitsPerByte: bitsPerByte(size, c.OriginalSize),
	}, nil
}

// decodeFile reads the image at path, decodes it into w and checks size and
// SHA-256 against the header.
func decodeFile(ctx context.Context, j *job, path string, w io.Writer) (*codec.Container, int64, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	j.progress.begin("read", size)
	c, err := codec.Read(f, size)
	if err != nil {
		return nil, 0, err
	}
	m, err := methodByID(c.Method)
	if err != nil {
		return nil, 0, err
	}
	if c.IsTree() {
		if _, err := treeOf(c); err != nil {
			return nil, 0, err
		}
	}
	j.progress.begin("verify", c.OriginalSize)
	h := sha256.New()
	cw := &countWriter{}
	if err := m.decode(ctx, j, c, io.MultiWriter(w, h, cw)); err != nil {
		return nil, 0, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if cw.n != c.OriginalSize || sum != c.SHA256 {
		return nil, 0, fmt.Errorf("%w: the decoded data does not match the SHA-256 in the header", codec.ErrCorrupt)
	}
	return c, size, nil
}

// Inspect reads the header of a ZPNG image (and its META section when that
// comes first) without decoding the payload.
func Inspect(input string) (*Info, error) {
	f, size, err := openSized(input)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := codec.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	info := &Info{
		Path: input, FileSize: size, Width: r.Width, Height: r.Height,
		Version: r.Version, Method: r.Method.String(), MethodID: int(r.Method), Flags: r.Flags,
		OriginalSize: r.OriginalSize, SHA256: r.SHA256, StoredName: r.Name,
		Name: RestoredName(r.Name, input), ModelID: r.ModelID,
		BitsPerByte: bitsPerByte(size, r.OriginalSize),
	}
	info.ModelFile = catalog.Superseded(r.ModelID)
	_, err = methodByID(r.Method)
	info.Decodable = err == nil
	for _, s := range r.Table {
		info.Sections = append(info.Sections, SectionInfo{Type: s.Type.String(), Length: s.Length, CRC32C: s.CRC})
	}
	// META and TREE come first where an image has them.
	for _, e := range r.Table {
		if e.Type != codec.SectionMeta && e.Type != codec.SectionTree {
			break
		}
		s, err := r.Next()
		if err != nil {
			return nil, err
		}
		if s.Type == codec.SectionMeta {
			info.Meta = s.Data
		} else if info.Tree, err = archive.Unmarshal(s.Data); err != nil {
			return nil, err
		}
	}
	if r.IsTree() && info.Tree == nil {
		return nil, fmt.Errorf("%w: the TREE section does not come first", codec.ErrCorrupt)
	}
	if r.Method == codec.MethodRegions {
		if info.Regions, err = inspectRegions(r); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// IsZPNG reports whether path starts like a ZPNG image (valid PNG and
// container header; the rest is not read).
func IsZPNG(path string) bool {
	f, size, err := openSized(path)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = codec.NewReader(f, size)
	return err == nil
}

// RestoredName is the file name to restore the image at path image to: its
// stored name made safe, or else the image's name without its suffix.
func RestoredName(stored, image string) string {
	if n := SafeName(stored); n != "" {
		return n
	}
	base := filepath.Base(image)
	for _, suf := range []string{DefaultSuffix, ".png"} {
		if n := strings.TrimSuffix(base, suf); n != base && SafeName(n) != "" {
			return SafeName(n)
		}
	}
	return "restored"
}

func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	return f, st.Size(), nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// writeTemp creates a temporary file next to output, fills it with write,
// syncs and closes it, and returns its name; on error nothing is left.
func writeTemp(output string, write func(io.Writer) error) (string, error) {
	f, err := TempFor(output)
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// hashFile returns the SHA-256 and size of the file at path.
func hashFile(ctx context.Context, j *job, path string) ([32]byte, int64, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{}
	if err := copyWithProgress(ctx, j, io.MultiWriter(h, cw), f); err != nil {
		return sum, 0, err
	}
	h.Sum(sum[:0])
	return sum, cw.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func bitsPerByte(png, original int64) float64 {
	if original == 0 {
		return 0
	}
	return float64(png) * 8 / float64(original)
}
