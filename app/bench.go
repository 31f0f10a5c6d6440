package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"zpng/core/bench"
)

func init() {
	register(command{
		name:    "bench",
		usage:   "[--models small,large] [--methods auto] [--peers gzip,bzip2,xz,zstd,brotli,zpaq,7z-ppmd] [--out DIR] [--force] DIR|FILE...",
		summary: "measure ZPNG against classical compressors on the files; write bench.md, bench.csv and bench.png",
		run:     runBench,
	})
}

// defaultPeers are the peers bench runs unless told: gzip, bzip2, xz,
// zstd and brotli, and zpaq -m5 and 7z's PPMd where they are installed.
func defaultPeers() string {
	p := "gzip,bzip2,xz,zstd,brotli"
	for _, name := range []string{"zpaq", "7z-ppmd"} {
		if bench.Installed(name) {
			p += "," + name
		}
	}
	return p
}

// The three reports bench writes.
var benchOutputs = []string{"bench.md", "bench.csv", "bench.png"}

func runBench(args []string) int {
	fs := newFlags("bench", commands["bench"].usage)
	models := fs.String("models", "small,large", "models to run with --method hybrid, one row each (\"\": none)")
	methods := fs.String("methods", "auto", "other zpng --method values, one row each: auto (what `zpng compress` does), hybrid or neural (their own model choice), cm, zstd, xz, stored (\"\": none)")
	peers := fs.String("peers", defaultPeers(), "classical compressors at their strongest settings; zpaq and 7z-ppmd by default where installed (\"\": none)")
	out := fs.String("out", ".", "folder for bench.md, bench.csv and bench.png")
	force := fs.Bool("force", false, "overwrite the reports if they exist")
	var eng engineFlags
	eng.add(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintf(stderr, "zpng bench: name at least one folder or file (see zpng help bench)\n")
		return exitUsage
	}
	files, err := benchFiles(pos)
	if err != nil {
		return fail("bench", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fail("bench", err)
	}
	// Engine flags go to the zpng children only where the user set them.
	var extra []string
	if eng.device != "auto" {
		extra = append(extra, "--device", eng.device)
	}
	if eng.engine != "" {
		extra = append(extra, "--engine", eng.engine)
	}
	if eng.modelsDir != "" {
		extra = append(extra, "--models-dir", eng.modelsDir)
	}
	if eng.threads != 0 {
		extra = append(extra, "--threads", strconv.Itoa(eng.threads))
	}

	cfg := bench.Config{Files: files, Log: stderr}
	for _, m := range list(*models) {
		cfg.Methods = append(cfg.Methods, bench.ZPNG(exe, "hybrid", m, extra))
	}
	for _, m := range list(*methods) {
		cfg.Methods = append(cfg.Methods, bench.ZPNG(exe, m, "", extra))
	}
	for _, name := range list(*peers) {
		p, err := bench.Peer(name)
		if err != nil {
			fmt.Fprintf(stderr, "zpng bench: %v\n", err)
			return exitUsage
		}
		cfg.Methods = append(cfg.Methods, p)
		if name == "xz" {
			cfg.Baseline = p.Name
		}
	}
	if len(cfg.Methods) == 0 {
		fmt.Fprintf(stderr, "zpng bench: nothing to measure: --models, --methods and --peers are all empty\n")
		return exitUsage
	}

	// Check the output folder before a run that may take hours.
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail("bench", err)
	}
	if !*force {
		for _, name := range benchOutputs {
			if _, err := os.Stat(filepath.Join(*out, name)); err == nil {
				return fail("bench", fmt.Errorf("%s: %w (use --force to replace it)", filepath.Join(*out, name), os.ErrExist))
			}
		}
	}

	intr := interruptible()
	defer intr.stop()
	ctx := intr.ctx
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return intr.fail("bench", err)
	}
	rep.Command = "zpng bench " + shellWords(args)
	if len(list(*models))+len(list(*methods)) > 0 {
		// What a ZPNG time spends before any work: on small files, most of it.
		if d, err := bench.StartUp(ctx, []string{exe, "help"}); err == nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("Start-up: `zpng help` takes %.3f s on this machine "+
				"(the shortest of 3 runs); every ZPNG compress and restore time includes it.", d.Seconds()))
		}
	}

	var md, csv, png bytes.Buffer
	if err := errors.Join(rep.WriteMarkdown(&md), rep.WriteCSV(&csv), rep.WritePNG(&png)); err != nil {
		return fail("bench", err)
	}
	for i, b := range []*bytes.Buffer{&md, &csv, &png} {
		if err := writeReport(filepath.Join(*out, benchOutputs[i]), b.Bytes()); err != nil {
			return fail("bench", err)
		}
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s in %s\n", benchOutputs[0], benchOutputs[1], benchOutputs[2], *out)
	if bad := rep.Failed(); len(bad) > 0 {
		fmt.Fprintf(stderr, "zpng bench: %d of %d round trips failed:\n", len(bad), len(files)*len(cfg.Methods))
		for _, r := range bad {
			fmt.Fprintf(stderr, "  %s, %s: %s\n", r.File, r.Method, r.Err)
		}
		return exitFail
	}
	return exitOK
}

// benchFiles expands folders into their regular files (not recursively,
// hidden ones skipped), in name order; files named directly stay in order.
func benchFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		es, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range es {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s holds no files", a)
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, filepath.Join(a, n))
		}
	}
	return files, nil
}

// writeReport replaces path with data through a temporary file, so that a
// failed write leaves the old report whole.
func writeReport(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// shellWords joins args as a shell would need them typed.
func shellWords(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

// list splits a comma-separated flag value, dropping empty items.
func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
