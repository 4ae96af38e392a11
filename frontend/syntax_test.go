package frontend

import (
	"regexp"
	"testing"
)

// The hand-written checks must accept exactly what the regular
// expressions they replaced accept.
func TestSyntaxChecksMatchRegexps(t *testing.T) {
	tagRe := regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	for _, s := range []string{"", "latest", "v1.2.3", "1.0-rc_1", ".x", "-x", "_x", "a b", "é", "x:y", string(make([]byte, 129)),
		"a23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890abcdefgh",
		"a23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890abcdefghi"} {
		if got, want := validTag(s), tagRe.MatchString(s); got != want {
			t.Errorf("validTag(%q) = %v, regexp says %v", s, got, want)
		}
	}
	digestRe := regexp.MustCompile(`^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$`)
	hex := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789abcdef"[i%16]
		}
		return string(b)
	}
	for _, s := range []string{"", "sha256:", "sha256:" + hex(64), "sha256:" + hex(63), "sha256:" + hex(65), "sha384:" + hex(96),
		"sha512:" + hex(128), "sha512:" + hex(64), "md5:" + hex(32), "sha256:" + hex(63) + "G", "SHA256:" + hex(64), "sha256" + hex(64)} {
		if got, want := validDigest(s, "sha256:64", "sha384:96", "sha512:128"), digestRe.MatchString(s); got != want {
			t.Errorf("validDigest(%q) = %v, regexp says %v", s, got, want)
		}
	}
	secretName := regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	secretAllow := regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`)
	for _, s := range []string{"", "KEY", "key", "AWS_SECRET_KEY", "PUBLIC_KEY", "KEY_FILE", "MONKEY", "KEYS", "_TOKEN_", "GITHUB_TOKEN",
		"AUTH_VERSION", "passwd", "Api_Key", "APIKEY", "MY__PASSWORD", "credentials_path", "SECRETARY"} {
		if got, want := secretLike(s), secretName.MatchString(s) && !secretAllow.MatchString(s); got != want {
			t.Errorf("secretLike(%q) = %v, regexps say %v", s, got, want)
		}
	}
}
