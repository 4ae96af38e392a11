package bakefile

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/url"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// encodeFuncs are buildx's hashing and encoding functions, written on
// the standard library: md5, sha1, sha256, sha512 (hex digests of the
// UTF-8 string), base64encode, base64decode, urlencode and uuid.
func encodeFuncs() map[string]function.Function {
	return map[string]function.Function{
		"md5":          hashFunc(md5.New),
		"sha1":         hashFunc(sha1.New),
		"sha256":       hashFunc(sha256.New),
		"sha512":       hashFunc(sha512.New),
		"base64encode": stringFunc("Encodes a string in base64.", func(s string) (string, error) { return base64.StdEncoding.EncodeToString([]byte(s)), nil }),
		"base64decode": stringFunc("Decodes a base64 string.", base64Decode),
		"urlencode":    stringFunc("Escapes a string for use in a URL query.", func(s string) (string, error) { return url.QueryEscape(s), nil }),
		"uuid":         uuidFunc,
	}
}

func stringFunc(desc string, f func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params:      []function.Parameter{{Name: "str", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			out, err := f(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			return cty.StringVal(out), nil
		},
	})
}

func hashFunc(h func() hash.Hash) function.Function {
	return stringFunc("Computes a hash of a string, in hexadecimal.", func(s string) (string, error) {
		d := h()
		d.Write([]byte(s))
		return hex.EncodeToString(d.Sum(nil)), nil
	})
}

func base64Decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("base64decode: %q is not base64: %w", s, err)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("base64decode: the decoded bytes of %q are not UTF-8 text", s)
	}
	return string(b), nil
}

// uuidFunc returns a random (version 4) UUID, as buildx's uuid().
var uuidFunc = function.New(&function.Spec{
	Description: "Returns a random UUID.",
	Type:        function.StaticReturnType(cty.String),
	Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return cty.UnknownVal(cty.String), err
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return cty.StringVal(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])), nil
	},
})
