package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"zpng/core"
)

func init() {
	register(command{
		name:    "compress",
		usage:   "FILE [-o OUT] [-1 … -9 | --level N] [--method auto|hybrid|neural|cm|zstd|xz|stored] [--force]",
		summary: "compress FILE into FILE.zpng.png (checked by decoding it again)",
		run:     runCompress,
	})
	register(command{
		name:    "decompress",
		usage:   "FILE.zpng.png [-o OUT] [--force]",
		summary: "restore the original file next to the image, under its stored name",
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
	var out string
	var eng engineFlags
	fs.StringVar(&out, "o", "", "output PNG (default: FILE.zpng.png next to FILE)")
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
	in, ok := oneFile("compress", pos)
	if !ok {
		return exitUsage
	}
	eng.apply(&opt)
	if !checkOptions("compress", &opt) {
		return exitUsage
	}
	show, clear := progressLine()
	opt.Progress = show
	intr := interruptible()
	defer intr.stop()
	r, err := core.Compress(intr.ctx, in, out, opt)
	clear()
	if err != nil {
		return intr.fail("compress", err)
	}
	if r.InputSize == 0 {
		fmt.Fprintf(stdout, "%s: an empty file; its image (%d bytes) holds only the name and restores it empty, %s, verified -> %s\n",
			r.Input, r.OutputSize, r.Elapsed.Round(time.Millisecond), r.Output)
	} else {
		fmt.Fprintf(stdout, "%s: %d -> %d bytes (%.1f%%, %.3f bpb), %s, %s, verified -> %s\n",
			r.Input, r.InputSize, r.OutputSize, percent(r.OutputSize, r.InputSize), r.BitsPerByte,
			methodModel(r), r.Elapsed.Round(time.Millisecond), r.Output)
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
	fs.StringVar(&out, "o", "", "output file (default: the stored name, in the image's folder)")
	fs.BoolVar(&opt.Force, "force", false, "overwrite OUT if it exists")
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
	r, err := core.Decompress(intr.ctx, in, out, opt)
	clear()
	if err != nil {
		return intr.fail("decompress", err)
	}
	fmt.Fprintf(stdout, "%s: %d -> %d bytes, %s, %s, verified -> %s\n",
		r.Input, r.InputSize, r.OutputSize, r.Method, r.Elapsed.Round(time.Millisecond), r.Output)
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
	return exitOK
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
