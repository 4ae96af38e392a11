package frontend

import (
	"regexp"
	"strings"
	"sync"
)

// Syntax checks. Every gorae command pays for this package's
// initialization, so nothing here is compiled at init: a regexp with a
// counted repetition ({0,127}, {64}) compiles to hundreds of
// instructions, and process start-up is most of a warm rebuild.

var (
	symbolicMode     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(symbolicModeExpr) })
	repoPath         = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(repoPathExpr) })
	parseErrorPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(parseErrorPrefixExpr) })
)

const (
	symbolicModeExpr = `^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*$`
	repoPathExpr     = `^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`
	// parseErrorPrefixExpr is how instructions.Parse wraps its errors; the
	// line is reported in our own format instead.
	parseErrorPrefixExpr = `^dockerfile parse error on line (\d+): `
)

// validDigest reports whether s is ALGO:HEX with one of algos, each given
// as "name:hexlen".
func validDigest(s string, algos ...string) bool {
	alg, hex, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	for _, a := range algos {
		name, n, _ := strings.Cut(a, ":")
		if name == alg && len(hex) == atoiSmall(n) && strings.Trim(hex, "0123456789abcdef") == "" {
			return true
		}
	}
	return false
}

func atoiSmall(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// validTag is Docker's tag grammar: [\w][\w.-]{0,127}.
func validTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for _, c := range []byte(t) {
		word := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		if !word && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// secretLike is the SecretsUsedInArgOrEnv rule: some "_"-separated word of
// the name is a secret word and none is an allowed one, case-insensitive
// ("AWS_SECRET_KEY" is, "PUBLIC_KEY" and "KEY_FILE" are not).
func secretLike(name string) bool {
	secret := false
	for _, w := range strings.Split(name, "_") {
		switch strings.ToLower(w) {
		case "apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd", "secret", "token":
			secret = true
		case "public", "file", "version":
			return false
		}
	}
	return secret
}
