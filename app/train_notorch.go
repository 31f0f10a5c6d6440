//go:build notorch

package main

import "fmt"

// The commands that need libtorch stay listed in a notorch build and say why
// they cannot run.
func init() {
	needsTorch("train", "--corpus DIR --preset small|large --out FILE ...", "pretrain a byte model")
	needsTorch("average", "--out FILE MODEL MODEL...", "average models trained on from one start")
}

func needsTorch(name, usage, summary string) {
	register(command{
		name:    name,
		usage:   usage,
		summary: summary + " (needs libtorch: not in this build)",
		run: func([]string) int {
			fmt.Fprintf(stderr, "zpng %s: this zpng was built with -tags notorch; it needs libtorch\n", name)
			return exitFail
		},
	})
}
