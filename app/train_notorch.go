//go:build notorch

package main

import "fmt"

func init() {
	register(command{
		name:    "train",
		usage:   "--corpus DIR --preset small|large --out FILE ...",
		summary: "pretrain a byte model (needs libtorch: not in this build)",
		run: func([]string) int {
			fmt.Fprintln(stderr, "zpng train: this zpng was built with -tags notorch; training needs libtorch")
			return exitFail
		},
	})
}

func init() {
	register(command{
		name:    "average",
		usage:   "--out FILE MODEL MODEL...",
		summary: "average models trained on from one start (needs libtorch: not in this build)",
		run: func([]string) int {
			fmt.Fprintln(stderr, "zpng average: this zpng was built with -tags notorch; it needs libtorch")
			return exitFail
		},
	})
}
