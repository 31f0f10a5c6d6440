package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"zpng/core"
	"zpng/core/archive"
)

func init() {
	register(command{
		name:    "compress",
		usage:   "FILE|FOLDER|- ... [-o OUT|-] [--name NAME] [-1 … -9 | --level N] [--method auto|hybrid|neural|cm|regions|zstd|xz|stored] [--force]",
		summary: "compress FILE into FILE.zpng.png, a FOLDER into FOLDER.zpng.png, several into one image with -o, - (standard input) with -o; -o - writes the image to standard output (checked by decoding it again)",
		run:     runCompress,
	})
	register(command{
		name:    "decompress",
		usage:   "FILE.zpng.png [-o OUT|-] [--force]",
		summary: "restore the original file (or folder) next to the image, under its stored name; -o - writes a file to standard output",
		run:     runDecompress,
	})
	register(command{
		name:    "info",
		usage:   "FILE.zpng.png [--json]",
		summary: "show the header of a ZPNG image",
		run:     runInfo,
	})
	register(command{
		name:    "verify",
		usage:   "FILE.zpng.png",
		summary: "decode fully and check the SHA-256; exit 0 when intact, 1 when not",
		run:     runVerify,
	})
}

// oneFile checks that exactly one file was named.
func oneFile(name string, pos []string) (string, bool) {
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "zpng %s: want one file, got %d (see zpng help %s)\n", name, len(pos), name)
		return "", false
	}
	return pos[0], true
}

func fail(name string, err error) int {
	fmt.Fprintf(stderr, "zpng %s: %v\n", name, err)
	return exitFail
}

func runCompress(args []string) int {
	fs := newFlags("compress", commands["compress"].usage)
	var opt core.Options
	var out, name string
	var eng engineFlags
	fs.StringVar(&out, "o", "", "output PNG, or - for standard output (default: FILE.zpng.png next to FILE; needed for several files or -)")
	fs.StringVar(&name, "name", "", "the name stored in the image (default: the file's or folder's; \"stdin\" for -)")
	addLevel(fs, &opt.Level)
	fs.StringVar(&opt.Method, "method", "auto", "auto (the level's choice: the smallest of its methods), hybrid, neural, cm, zstd, xz or stored")
	fs.StringVar(&opt.Model, "model", "auto", "model for methods hybrid and neural: auto (the level's choice), small, large or a file")
	fs.IntVar(&opt.FinetuneSteps, "finetune-steps", core.FinetuneByLevel, "fine-tune steps on the file before coding (0: none; default: the level's)")
	fs.BoolVar(&opt.SelfContained, "self-contained", false, "embed the whole model rather than a delta from the shipped one")
	fs.BoolVar(&opt.Force, "force", false, "overwrite OUT if it exists")
	eng.add(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	src, ok := compressSource(pos, out, name)
	if !ok {
		return exitUsage
	}
	eng.apply(&opt)
	if !checkOptions("compress", &opt) {
		return exitUsage
	}
	if len(pos) > 1 && out == "" {
		// Several files without -o: one image each, as the window does.
		failed := 0
		for _, p := range pos {
			if code := compressOne(core.Source{Paths: []string{p}}, "", opt); code != exitOK {
				if code != exitFail {
					return code // interrupted
				}
				failed++
			}
		}
		if failed > 0 {
			return exitFail
		}
		return exitOK
	}
	return compressOne(src, out, opt)
}

// compressSource checks the positional arguments of compress: files and
// folders, or "-" alone for standard input.
func compressSource(pos []string, out, name string) (core.Source, bool) {
	src := core.Source{Paths: pos, Name: name}
	switch {
	case len(pos) == 0:
		fmt.Fprintln(stderr, "zpng compress: want a file, a folder or - (standard input) (see zpng help compress)")
		return src, false
	case slices.Contains(pos, "-") && len(pos) > 1:
		fmt.Fprintln(stderr, "zpng compress: - (standard input) cannot be mixed with files")
		return src, false
	case pos[0] == "-" && out == "":
		fmt.Fprintln(stderr, "zpng compress: standard input needs -o OUT.zpng.png, or -o - for standard output")
		return src, false
	case len(pos) > 1 && out == "" && name != "":
		fmt.Fprintln(stderr, "zpng compress: --name names the one image of -o; several files without -o make one image each")
		return src, false
	}
	if pos[0] == "-" {
		src.Paths, src.Reader = nil, os.Stdin
	}
	return src, true
}

// compressOne runs one compression and prints its result: on stdout, or on
// stderr when stdout carries the image (out "-").
func compressOne(src core.Source, out string, opt core.Options) int {
	show, clear := progressLine()
	opt.Progress = show
	intr := interruptible()
	defer intr.stop()
	var r *core.Result
	var err error
	report := stdout
	if out == "-" {
		report = stderr
		r, err = core.CompressTo(intr.ctx, src, stdout, opt)
	} else {
		r, err = core.CompressSource(intr.ctx, src, out, opt)
	}
	clear()
	if err != nil {
		return intr.fail("compress", err)
	}
	dest := r.Output
	if dest == "" {
		dest = "standard output"
	}
	what := r.Input
	if r.Entries > 0 {
		what = fmt.Sprintf("%s (%d entries)", r.Input, r.Entries)
	}
	if r.InputSize == 0 && r.Entries == 0 {
		fmt.Fprintf(report, "%s: an empty file; its image (%d bytes) holds only the name and restores it empty, %s, verified -> %s\n",
			what, r.OutputSize, r.Elapsed.Round(time.Millisecond), dest)
	} else {
		fmt.Fprintf(report, "%s: %d -> %d bytes (%.1f%%, %.3f bpb), %s, %s, verified -> %s\n",
			what, r.InputSize, r.OutputSize, percent(r.OutputSize, r.InputSize), r.BitsPerByte,
			methodModel(r), r.Elapsed.Round(time.Millisecond), dest)
	}
	// How the method and model were chosen, on stderr so that stdout stays one line.
	for _, n := range r.Notes {
		fmt.Fprintf(stderr, "  %s\n", n)
	}
	return exitOK
}

func runDecompress(args []string) int {
	fs := newFlags("decompress", commands["decompress"].usage)
	var opt core.Options
	var out string
	var eng engineFlags
	fs.StringVar(&out, "o", "", "output file or folder, or - for standard output (default: the stored name, in the image's folder)")
	fs.BoolVar(&opt.Force, "force", false, "overwrite OUT if it exists (a restored folder replaces it)")
	eng.add(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	in, ok := oneFile("decompress", pos)
	if !ok {
		return exitUsage
	}
	eng.apply(&opt)
	if !checkOptions("decompress", &opt) {
		return exitUsage
	}
	show, clear := progressLine()
	opt.Progress = show
	intr := interruptible()
	defer intr.stop()
	var r *core.Result
	var err error
	report := stdout
	if out == "-" {
		report = stderr
		r, err = core.DecompressTo(intr.ctx, in, stdout, opt)
		clear()
	} else {
		r, err = core.Decompress(intr.ctx, in, out, opt)
		clear()
	}
	if err != nil {
		return intr.fail("decompress", err)
	}
	dest := r.Output
	switch {
	case dest == "":
		dest = "standard output"
	case r.Entries > 0:
		dest = fmt.Sprintf("%s%c (%d entries)", dest, os.PathSeparator, r.Entries)
	}
	fmt.Fprintf(report, "%s: %d -> %d bytes, %s, %s, verified -> %s\n",
		r.Input, r.InputSize, r.OutputSize, r.Method, r.Elapsed.Round(time.Millisecond), dest)
	for _, n := range r.Notes {
		fmt.Fprintf(stderr, "  %s\n", n)
	}
	return exitOK
}

func runVerify(args []string) int {
	fs := newFlags("verify", commands["verify"].usage)
	var opt core.Options
	var eng engineFlags
	eng.add(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	in, ok := oneFile("verify", pos)
	if !ok {
		return exitUsage
	}
	eng.apply(&opt)
	if !checkOptions("verify", &opt) {
		return exitUsage
	}
	show, clear := progressLine()
	opt.Progress = show
	intr := interruptible()
	defer intr.stop()
	r, err := core.Verify(intr.ctx, in, opt)
	clear()
	if err != nil {
		return intr.fail("verify", err)
	}
	fmt.Fprintf(stdout, "%s: intact (%d bytes, %s, SHA-256 %x)\n", r.Input, r.OutputSize, r.Method, r.SHA256)
	return exitOK
}

func runInfo(args []string) int {
	fs := newFlags("info", commands["info"].usage)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	in, ok := oneFile("info", pos)
	if !ok {
		return exitUsage
	}
	info, err := core.Inspect(in)
	if err != nil {
		return fail("info", err)
	}
	if *asJSON {
		return printJSON(info)
	}
	fmt.Fprintf(stdout, "file:          %s (%d bytes, %d×%d pixels)\n", info.Path, info.FileSize, info.Width, info.Height)
	fmt.Fprintf(stdout, "format:        ZPNG version %d\n", info.Version)
	fmt.Fprintf(stdout, "method:        %s", info.Method)
	if info.Flags != 0 {
		fmt.Fprintf(stdout, " (flags %#04x)", info.Flags)
	}
	if !info.Decodable {
		fmt.Fprint(stdout, " — not decodable by this build")
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "original:      %q, %d bytes\n", info.StoredName, info.OriginalSize)
	if info.Name != info.StoredName {
		fmt.Fprintf(stdout, "restores as:   %s\n", info.Name)
	}
	fmt.Fprintf(stdout, "SHA-256:       %x\n", info.SHA256)
	if info.ModelID != ([32]byte{}) {
		fmt.Fprintf(stdout, "model:         %x", info.ModelID)
		if info.ModelFile != "" {
			fmt.Fprintf(stdout, " (%s)", info.ModelFile)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "size:          %.1f%% of the original, %.3f bits per byte\n", percent(info.FileSize, info.OriginalSize), info.BitsPerByte)
	for _, s := range info.Sections {
		fmt.Fprintf(stdout, "section %s:  %d bytes, CRC-32C %08x\n", s.Type, s.Length, s.CRC32C)
	}
	if m, err := core.ParseNeuralMeta(info.Meta); err == nil && core.RunsModel(info.Method) {
		printNeuralMeta(m)
	} else if len(info.Meta) > 0 {
		fmt.Fprintf(stdout, "meta:          %s\n", info.Meta)
	}
	if info.Tree != nil {
		printTree(info)
	}
	printRegions(info)
	return exitOK
}

// printRegions lists the regions of an image of method regions: where each
// lies in the original, its kind and method, and its coded bytes.
func printRegions(info *core.Info) {
	if len(info.Regions) == 0 {
		return
	}
	coded := map[string][2]int64{}
	var kinds []string
	for _, r := range info.Regions {
		c, ok := coded[r.Kind]
		if !ok {
			kinds = append(kinds, r.Kind)
		}
		coded[r.Kind] = [2]int64{c[0] + r.Length, c[1] + r.Coded}
	}
	fmt.Fprintf(stdout, "regions:       %d (index, offset, length, kind, method);", len(info.Regions))
	for i, k := range kinds {
		sep := ","
		if i == len(kinds)-1 {
			sep = ""
		}
		fmt.Fprintf(stdout, " %s %d -> %d bytes%s", k, coded[k][0], coded[k][1], sep)
	}
	fmt.Fprintln(stdout)
	for i, r := range info.Regions {
		line := fmt.Sprintf("  %5d  %12d %10d  %-10s ", i, r.Offset, r.Length, r.Kind)
		switch {
		case r.Kind == "copy":
			line += fmt.Sprintf("of bytes from %d", r.Source)
		case r.Flags != 0:
			line += fmt.Sprintf("%s, flags %#x", r.Method, r.Flags)
		default:
			line += r.Method
		}
		fmt.Fprintf(stdout, "%s -> %d bytes\n", line, r.Coded)
	}
}

// printTree lists the entries of an image of a tree as `ls -l` would:
// mode, size, modification time (UTC), path.
func printTree(info *core.Info) {
	folders, files, links := archive.Count(info.Tree)
	fmt.Fprintf(stdout, "tree:          %d folders, %d files, %d links; restores as the folder %s\n", folders, files, links, info.Name)
	for _, e := range info.Tree[1:] {
		when := e.ModTime.UTC().Format("2006-01-02 15:04:05")
		if e.Kind == archive.Symlink {
			when = strings.Repeat(" ", len(when)) // not kept for links
		}
		line := fmt.Sprintf("  %s %12d  %s  %s", modeString(e), e.Size, when, e.Path)
		switch e.Kind {
		case archive.Folder:
			line += "/"
		case archive.Symlink:
			line += " -> " + e.Target
		}
		fmt.Fprintln(stdout, line)
	}
}

// modeString is an entry's mode as ls shows it: drwxr-xr-x, -rw-r--r--,
// lrwxrwxrwx.
func modeString(e archive.Entry) string {
	kind := map[archive.Kind]string{archive.Folder: "d", archive.File: "-", archive.Symlink: "l"}[e.Kind]
	return kind + e.Mode.Perm().String()[1:]
}

// printNeuralMeta shows how a neural image was made: model, fine-tune, what
// it embeds, streams.
func printNeuralMeta(m *core.NeuralMeta) {
	fmt.Fprintf(stdout, "model name:    %s (%s)", m.Model, m.Config)
	if m.Engine != "" {
		fmt.Fprintf(stdout, ", coded with engine %s on %s", m.Engine, m.Device)
	}
	fmt.Fprintln(stdout)
	if m.FinetuneSteps > 0 {
		used := ""
		if m.Embedded == "none" {
			used = " (not used: its delta did not pay for itself)"
		}
		fmt.Fprintf(stdout, "fine-tune:     %d steps of %s: %.3f -> %.3f bpb%s\n", m.FinetuneSteps, m.Trained, m.BPBBase, m.BPBTuned, used)
	} else {
		fmt.Fprintf(stdout, "fine-tune:     none (%.3f bpb with the base model)\n", m.BPBBase)
	}
	fmt.Fprintf(stdout, "embedded:      %s weights, %d bytes\n", m.Embedded, m.EmbeddedBytes)
	fmt.Fprintf(stdout, "streams:       %d, %.3f bits per byte with weights and stream table\n", m.Streams, m.BPB)
}

func printJSON(info *core.Info) int {
	type section struct {
		Type   string `json:"type"`
		Length int64  `json:"length"`
		CRC32C string `json:"crc32c"`
	}
	type entry struct {
		Path    string `json:"path"`
		Kind    string `json:"kind"`
		Mode    string `json:"mode"`
		Size    int64  `json:"size"`
		ModTime string `json:"mtime"`
		Target  string `json:"target,omitempty"`
	}
	type region struct {
		Offset int64  `json:"offset"`
		Length int64  `json:"length"`
		Kind   string `json:"kind"`
		Method string `json:"method"`
		Flags  uint16 `json:"flags"`
		Coded  int64  `json:"coded"`
		Source *int64 `json:"source,omitempty"`
	}
	v := struct {
		Path         string          `json:"path"`
		FileSize     int64           `json:"file_size"`
		Width        int64           `json:"width"`
		Height       int64           `json:"height"`
		Version      int             `json:"version"`
		Method       string          `json:"method"`
		MethodID     int             `json:"method_id"`
		Flags        uint16          `json:"flags"`
		Decodable    bool            `json:"decodable"`
		Name         string          `json:"name"`
		StoredName   string          `json:"stored_name"`
		OriginalSize int64           `json:"original_size"`
		SHA256       string          `json:"sha256"`
		ModelID      string          `json:"model_id,omitempty"`
		ModelFile    string          `json:"model_file,omitempty"`
		BitsPerByte  float64         `json:"bits_per_byte"`
		Sections     []section       `json:"sections"`
		Meta         json.RawMessage `json:"meta,omitempty"`
		Entries      []entry         `json:"entries,omitempty"`
		Regions      []region        `json:"regions,omitempty"`
	}{
		Path: info.Path, FileSize: info.FileSize, Width: info.Width, Height: info.Height,
		Version: info.Version, Method: info.Method, MethodID: info.MethodID, Flags: info.Flags,
		Decodable: info.Decodable, Name: info.Name, StoredName: info.StoredName,
		OriginalSize: info.OriginalSize, SHA256: hex.EncodeToString(info.SHA256[:]),
		ModelFile: info.ModelFile, BitsPerByte: info.BitsPerByte, Sections: []section{},
	}
	if info.ModelID != ([32]byte{}) {
		v.ModelID = hex.EncodeToString(info.ModelID[:])
	}
	for _, s := range info.Sections {
		v.Sections = append(v.Sections, section{s.Type, s.Length, fmt.Sprintf("%08x", s.CRC32C)})
	}
	if json.Valid(info.Meta) {
		v.Meta = info.Meta
	}
	for _, e := range info.Tree {
		v.Entries = append(v.Entries, entry{e.Path, e.Kind.String(), fmt.Sprintf("%04o", e.Mode.Perm()), e.Size,
			e.ModTime.UTC().Format(time.RFC3339Nano), e.Target})
	}
	for _, r := range info.Regions {
		g := region{r.Offset, r.Length, r.Kind, r.Method, r.Flags, r.Coded, nil}
		if r.Kind == "copy" {
			g.Source = &r.Source
		}
		v.Regions = append(v.Regions, g)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail("info", err)
	}
	return exitOK
}

func percent(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func methodModel(r *core.Result) string {
	if r.Model != "" {
		return r.Method + " (" + r.Model + ")"
	}
	return r.Method
}
