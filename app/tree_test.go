package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// zpngIO runs the binary with stdin and a TMPDIR of its own; it returns
// the exit code, stdout's bytes and stderr, and checks that TMPDIR is
// empty afterwards.
func zpngIO(t *testing.T, stdin []byte, args ...string) (int, []byte, string) {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.Command(zpngBinary(t), args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), "panic") {
		t.Fatalf("zpng %v panicked:\n%s", args, errb.String())
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Fatalf("zpng %v left %d files in TMPDIR", args, len(es))
	}
	return code, out.Bytes(), errb.String()
}

// cliTree makes a small tree: nested folders, an empty folder, a link, an
// executable, an empty file and a non-ASCII name.
func cliTree(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(dir, "proj")
	for _, d := range []string{"src/deep", "empty"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"README.md":          strings.Repeat("A project to compress. ", 50),
		"src/deep/日本語.txt":   "non-ASCII\n",
		"src/main.go":        "package main\n\nfunc main() {}\n",
		"run.sh":             "#!/bin/sh\nexec go run ./src\n",
		"src/deep/empty.txt": "",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "run.sh"), 0o755)
	if err := os.Symlink("src/main.go", filepath.Join(root, "main")); err != nil {
		t.Fatal(err)
	}
	return root
}

// treeLines describes a tree: path, mode, content or link target.
func treeLines(t *testing.T, root string) []string {
	t.Helper()
	var lines []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Lstat(p)
		rel, _ := filepath.Rel(root, p)
		line := rel + " " + st.Mode().String()
		if st.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			line += " -> " + target
		} else if st.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			line += " " + string(data)
		}
		lines = append(lines, line)
		return nil
	})
	return lines
}

func TestCLIFolder(t *testing.T) {
	dir := t.TempDir()
	root := cliTree(t, dir)
	want := treeLines(t, root)
	code, out, errs := zpng(t, "compress", root, "--method", "zstd")
	if code != 0 || !strings.Contains(out, "(9 entries)") || !strings.Contains(out, "verified") {
		t.Fatalf("compress: exit %d\n%s%s", code, out, errs)
	}
	img := root + ".zpng.png"
	checkPNG(t, img)

	code, out, _ = zpng(t, "info", img)
	for _, s := range []string{"ZPNG version 2", "3 folders, 5 files, 1 links; restores as the folder proj",
		"-rwxr-xr-x", "src/deep/日本語.txt", "main -> src/main.go", "empty/"} {
		if code != 0 || !strings.Contains(out, s) {
			t.Fatalf("info: exit %d, no %q in\n%s", code, s, out)
		}
	}
	code, out, _ = zpng(t, "info", "--json", img)
	var v struct {
		Entries []struct{ Path, Kind, Mode, Target string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 {
		t.Fatalf("info --json: exit %d, %v\n%s", code, err, out)
	}
	if len(v.Entries) != 10 || v.Entries[0].Path != "" || !slices.ContainsFunc(v.Entries, func(e struct{ Path, Kind, Mode, Target string }) bool {
		return e.Path == "run.sh" && e.Kind == "file" && e.Mode == "0755"
	}) {
		t.Fatalf("info --json entries: %+v", v.Entries)
	}
	if code, _, errs := zpng(t, "verify", img); code != 0 {
		t.Fatalf("verify: %s", errs)
	}

	// The folder is still there: refused, nothing changes.
	if code, _, errs := zpng(t, "decompress", img); code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("decompress over the folder: exit %d, %q", code, errs)
	}
	if code, out, errs := zpngIO(t, nil, "decompress", img, "-o", "-"); code != 1 || len(out) != 0 || !strings.Contains(errs, "holds a folder") {
		t.Fatalf("decompress of a tree to stdout: exit %d, %d bytes, %q", code, len(out), errs)
	}
	restored := t.TempDir()
	if code, out, errs := zpng(t, "decompress", img, "-o", restored); code != 0 || !strings.Contains(out, "(9 entries)") {
		t.Fatalf("decompress -o: exit %d\n%s%s", code, out, errs)
	}
	if got := treeLines(t, filepath.Join(restored, "proj")); !slices.Equal(got, want) {
		t.Fatalf("restored tree:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := treeLines(t, root); !slices.Equal(got, want) {
		t.Fatal("the original tree changed")
	}
}

func TestCLISeveralFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(a, bytes.Repeat([]byte("alpha "), 100), 0o644)
	os.WriteFile(b, bytes.Repeat([]byte("beta "), 100), 0o600)
	// Without -o: one image each.
	if code, out, errs := zpng(t, "compress", a, b, "--method", "zstd"); code != 0 || strings.Count(out, "verified") != 2 {
		t.Fatalf("compress a b: exit %d\n%s%s", code, out, errs)
	}
	for _, p := range []string{a, b} {
		if _, err := os.Stat(p + ".zpng.png"); err != nil {
			t.Fatal(err)
		}
	}
	// With -o: one image of both, restoring as the folder "both".
	img := filepath.Join(dir, "both.zpng.png")
	if code, out, errs := zpng(t, "compress", a, b, "-o", img, "--method", "zstd"); code != 0 || !strings.Contains(out, "(2 entries)") {
		t.Fatalf("compress a b -o: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := zpng(t, "decompress", img); code != 0 {
		t.Fatalf("decompress: exit %d\n%s%s", code, out, errs)
	}
	for _, p := range []string{"a.txt", "b.txt"} {
		got, _ := os.ReadFile(filepath.Join(dir, "both", p))
		orig, _ := os.ReadFile(filepath.Join(dir, p))
		if !bytes.Equal(got, orig) {
			t.Fatalf("both/%s differs", p)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "both", "b.txt")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("both/b.txt: %v, mode %v", err, st.Mode())
	}
	// Usage errors.
	for _, args := range [][]string{{"compress", a, "-"}, {"compress", "-"}, {"compress", a, b, "--name", "x"}} {
		if code, _, errs := zpng(t, args...); code != 2 {
			t.Errorf("zpng %v: exit %d, %q; want 2", args, code, errs)
		}
	}
}

func TestCLIPipes(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("piped through zpng, both ways. "), 300)

	// Standard input to standard output: the image alone on stdout.
	code, img, errs := zpngIO(t, data, "compress", "-", "-o", "-", "--method", "zstd")
	if code != 0 || !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) || !strings.Contains(errs, "verified -> standard output") {
		t.Fatalf("compress - -o -: exit %d, %d bytes, %q", code, len(img), errs)
	}
	path := filepath.Join(dir, "piped.zpng.png")
	os.WriteFile(path, img, 0o644)
	checkPNG(t, path)
	if _, out, _ := zpng(t, "info", path); !strings.Contains(out, `"stdin"`) {
		t.Fatalf("stored name is not stdin:\n%s", out)
	}

	// The image to standard output: the file alone on stdout.
	code, back, errs := zpngIO(t, nil, "decompress", path, "-o", "-")
	if code != 0 || !bytes.Equal(back, data) || !strings.Contains(errs, "verified -> standard output") {
		t.Fatalf("decompress -o -: exit %d, %d bytes (want %d), %q", code, len(back), len(data), errs)
	}

	// Standard input to a file, under --name.
	named := filepath.Join(dir, "named.zpng.png")
	if code, _, errs := zpngIO(t, data, "compress", "-", "-o", named, "--name", "notes.txt", "--method", "zstd"); code != 0 {
		t.Fatalf("compress - -o FILE: exit %d, %q", code, errs)
	}
	if code, out, errs := zpng(t, "decompress", named); code != 0 || !strings.Contains(out, "notes.txt") {
		t.Fatalf("decompress: exit %d\n%s%s", code, out, errs)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); !bytes.Equal(got, data) {
		t.Fatal("notes.txt differs")
	}

	// A folder to standard output.
	root := cliTree(t, dir)
	code, img, errs = zpngIO(t, nil, "compress", root, "-o", "-", "--method", "zstd")
	if code != 0 || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		t.Fatalf("compress FOLDER -o -: exit %d, %q", code, errs)
	}
	treeImg := filepath.Join(t.TempDir(), "t.zpng.png")
	os.WriteFile(treeImg, img, 0o644)
	if code, _, errs := zpng(t, "decompress", treeImg); code != 0 {
		t.Fatalf("decompress of the piped tree: %q", errs)
	}
	if got, want := treeLines(t, filepath.Join(filepath.Dir(treeImg), "proj")), treeLines(t, root); !slices.Equal(got, want) {
		t.Fatalf("piped tree restores as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
