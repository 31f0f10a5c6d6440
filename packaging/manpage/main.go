// Command manpage writes the zpng(1) manual page, in roff, from a built
// zpng command's own help: `zpng help` for the synopsis and the commands,
// `zpng COMMAND -h` for each command's flags. The page says what the
// command says, so it cannot drift from it.
//
// usage: go run ./packaging/manpage ZPNG_BINARY VERSION > zpng.1
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: manpage ZPNG_BINARY VERSION")
		os.Exit(2)
	}
	bin, version := os.Args[1], os.Args[2]
	top, err := helpOf(bin, "zpng ", "help")
	if err != nil {
		fail(err)
	}
	p := parseUsage(top)
	if len(p.commands) == 0 {
		fail(fmt.Errorf("%s help lists no commands:\n%s", bin, top))
	}
	for i, c := range p.commands {
		if p.commands[i].flags, err = helpOf(bin, "usage: zpng "+c.name, c.name, "-h"); err != nil {
			fail(err)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	writePage(w, p, version)
	if err := w.Flush(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "manpage:", err)
	os.Exit(1)
}

// helpOf runs the command and returns its help, from the first line that
// starts with from: what the window's libraries log as they load (GTK,
// Fyne's locale) comes before it. Help may exit non-zero (flag's -h does);
// no help at all is an error.
func helpOf(bin, from string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	text := "\n" + string(out)
	i := strings.Index(text, "\n"+from)
	if i < 0 {
		return "", fmt.Errorf("%s %s printed no line starting %q (%v):\n%s", bin, strings.Join(args, " "), from, err, out)
	}
	return text[i+1:], nil
}

// usage is the command's top-level help, taken apart.
type usage struct {
	summary  string      // the first line
	window   [][2]string // the ways to open the window: synopsis, what it does
	commands []command
	footer   string
}

type command struct {
	name, synopsis, summary string
	flags                   string // the command's -h output
}

// parseUsage reads `zpng help`: a summary line, then "usage:" and lines
// "  zpng ARGS   what" (the window) or "  zpng NAME ARGS" (continued in
// lines indented by 7) followed by a summary indented by 6 (a command),
// then a closing paragraph.
func parseUsage(text string) usage {
	var u usage
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > 0 {
		u.summary = lines[0]
	}
	var footer []string
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "  zpng "):
			syn := strings.TrimSpace(l)
			// A long synopsis goes on in lines indented further.
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "       ") {
				syn += " " + strings.TrimSpace(lines[i+1])
				i++
			}
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "      ") {
				name, _, _ := strings.Cut(strings.TrimPrefix(syn, "zpng "), " ")
				u.commands = append(u.commands, command{name: name, synopsis: syn, summary: strings.TrimSpace(lines[i+1])})
				i++
				continue
			}
			// "zpng FILE...         open the window with these files"
			if k := strings.Index(syn, "  "); k > 0 {
				u.window = append(u.window, [2]string{syn[:k], strings.TrimSpace(syn[k:])})
			} else {
				u.window = append(u.window, [2]string{syn, ""})
			}
		case strings.TrimSpace(l) == "usage:", strings.TrimSpace(l) == "":
		default:
			footer = append(footer, strings.TrimSpace(l))
		}
	}
	u.footer = strings.Join(footer, " ")
	return u
}

// writePage writes the page in the man(7) macros.
func writePage(w io.Writer, u usage, version string) {
	fmt.Fprintf(w, ".TH ZPNG 1 \"\" \"zpng %s\" \"User Commands\"\n", esc(version))
	fmt.Fprintf(w, ".SH NAME\nzpng \\- %s\n", esc(strings.TrimPrefix(u.summary, "zpng ")))
	fmt.Fprintln(w, ".SH SYNOPSIS")
	for _, s := range u.window {
		fmt.Fprintf(w, ".B %s\n.br\n", esc(s[0]))
	}
	for _, c := range u.commands {
		fmt.Fprintf(w, ".B %s\n.br\n", esc(c.synopsis))
	}
	fmt.Fprintln(w, ".SH DESCRIPTION")
	fmt.Fprintf(w, "%s\n", esc(u.summary))
	for _, s := range u.window {
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", esc(s[0]), esc(s[1]))
	}
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, c := range u.commands {
		fmt.Fprintf(w, ".SS %s\n.B %s\n.PP\n%s\n", esc(c.name), esc(c.synopsis), esc(c.summary))
		if flags := flagBlock(c.flags); flags != "" {
			fmt.Fprintf(w, ".PP\n.nf\n%s\n.fi\n", esc(flags))
		}
	}
	if u.footer != "" {
		fmt.Fprintf(w, ".SH SEE ALSO\n%s\n", esc(u.footer))
	}
}

// flagBlock is the "flags:" part of a command's -h output, unindented.
func flagBlock(help string) string {
	_, flags, ok := strings.Cut(help, "\nflags:\n")
	if !ok {
		return ""
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(flags, "\n"), "\n") {
		out = append(out, strings.TrimPrefix(strings.ReplaceAll(l, "\t", "    "), "  "))
	}
	return strings.Join(out, "\n")
}

// esc makes text safe in roff: backslashes and hyphens escaped, ASCII,
// and no line starting with a control character.
func esc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	s = strings.ReplaceAll(s, "…", "...") // man pages are ASCII
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
