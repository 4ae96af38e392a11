package main

import (
	"strings"

	"github.com/gorae/gorae/longpath"
)

// shortenPaths keeps an error readable when it names a path of thousands
// of bytes (deeper than PATH_MAX, which gorae carries): every run of
// non-blank text with a slash that is longer than 200 bytes keeps its
// start and end around the number of bytes left out.
func shortenPaths(msg string) string {
	var b strings.Builder
	for len(msg) > 0 {
		i := strings.IndexAny(msg, " \t\n")
		if i < 0 {
			i = len(msg)
		}
		word := msg[:i]
		if strings.Contains(word, "/") {
			word = longpath.Shorten(word)
		}
		b.WriteString(word)
		if i < len(msg) {
			b.WriteByte(msg[i])
			i++
		}
		msg = msg[i:]
	}
	return b.String()
}
