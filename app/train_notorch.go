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
