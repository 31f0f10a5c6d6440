// Command zpng compresses any file into a PNG of colourful static and back.
//
// With no arguments, or with file arguments, it opens the desktop window;
// `zpng help` lists the subcommands.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// command is one subcommand; each file registers its own from init.
type command struct {
	name    string
	usage   string // arguments, e.g. "FILE [-o OUT]"
	summary string // one line for `zpng help`
	run     func(args []string) int
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// openGUI opens the desktop window on files; app/gui.go sets it unless the
// build has the tag nogui.
var openGUI func(files []string) int

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the operation failed or the file is not intact
	exitUsage = 2
)

var stdout, stderr io.Writer = os.Stdout, os.Stderr

func main() {
	limitMemory()
	os.Exit(run(os.Args[1:]))
}

// softMemoryLimit bounds the Go heap unless GOMEMLIMIT sets a bound of its
// own. Near it the garbage collector runs sooner, so the tables of finished
// regions, groups and candidates return before new ones pile up beside
// them: without it a 92 MB mixed tar peaked at 1.5-1.56 GB, most of it heap
// that was already dead. It is soft: a job whose live data needs more still
// gets it, at the cost of more collections.
const softMemoryLimit = 1200 << 20

func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			if len(args) > 1 {
				if c, ok := commands[args[1]]; ok {
					fmt.Fprintf(stdout, "usage: zpng %s %s\n\n%s\n", c.name, c.usage, c.summary)
					return exitOK
				}
			}
			usage(stdout)
			return exitOK
		}
		if c, ok := commands[args[0]]; ok {
			return c.run(args[1:])
		}
		// Not a command: files for the window, if they exist.
		for _, a := range args {
			if _, err := os.Stat(a); err != nil || strings.HasPrefix(a, "-") {
				fmt.Fprintf(stderr, "zpng: unknown command or file %q\n\n", a)
				usage(stderr)
				return exitUsage
			}
		}
	}
	if openGUI == nil {
		fmt.Fprintln(stderr, "zpng: this build has no GUI (built with -tags nogui); use a subcommand, see `zpng help`")
		return exitUsage
	}
	return openGUI(args)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "zpng compresses any file into a PNG of colourful static, and back.")
	fmt.Fprintln(w, "\nusage:\n  zpng                 open the window\n  zpng FILE...         open the window with these files")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  zpng %s %s\n      %s\n", c.name, c.usage, c.summary)
	}
	fmt.Fprintln(w, "\nRun `zpng help COMMAND` or `zpng COMMAND -h` for a command's flags.")
}
