package main

import (
	"strings"
	"testing"
)

const help = `zpng compresses any file into a PNG of colourful static, and back.

usage:
  zpng                 open the window
  zpng FILE...         open the window with these files
  zpng compress FILE [-o OUT] [-1 … -9]
      compress FILE into FILE.zpng.png
  zpng train --corpus DIR --out FILE
       [--lr X] [--crlf SHARE]
      pretrain a byte model
  zpng verify FILE.zpng.png
      decode fully and check the SHA-256

Run ` + "`zpng help COMMAND`" + ` for a command's flags.
`

func TestPage(t *testing.T) {
	u := parseUsage(help)
	if len(u.window) != 2 || len(u.commands) != 3 || u.commands[0].name != "compress" || u.commands[2].summary != "decode fully and check the SHA-256" ||
		u.commands[1].synopsis != "zpng train --corpus DIR --out FILE [--lr X] [--crlf SHARE]" || u.commands[1].summary != "pretrain a byte model" {
		t.Fatalf("parsed %+v", u)
	}
	u.commands[0].flags = "usage: zpng compress FILE\n\nflags:\n  -force\n    \toverwrite OUT\n  -o string\n    \toutput PNG\n"
	var b strings.Builder
	writePage(&b, u, "0.1.0")
	page := b.String()
	for _, want := range []string{
		".TH ZPNG 1 \"\" \"zpng 0.1.0\"",
		".SH NAME\nzpng \\- compresses any file",
		".B zpng compress FILE [\\-o OUT] [\\-1 ... \\-9]\n",
		".SS verify\n",
		"\\-force\n      overwrite OUT\n",
		".SH SEE ALSO\nRun `zpng help COMMAND` for a command's flags.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, "'") || (strings.HasPrefix(l, ".") && !strings.HasPrefix(l, ".T") && !strings.HasPrefix(l, ".S") &&
			!strings.HasPrefix(l, ".B") && !strings.HasPrefix(l, ".P") && !strings.HasPrefix(l, ".b") && !strings.HasPrefix(l, ".n") && !strings.HasPrefix(l, ".f")) {
			t.Errorf("text line starts with a control character: %q", l)
		}
	}
	if strings.ContainsRune(page, '…') {
		t.Error("the page is not ASCII")
	}
}

func TestEsc(t *testing.T) {
	if got := esc(".hidden\n'quote\na\\b-c"); got != "\\&.hidden\n\\&'quote\na\\eb\\-c" {
		t.Fatalf("esc = %q", got)
	}
}
