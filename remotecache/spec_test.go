package remotecache

import (
	"strings"
	"testing"
)

func TestParseSpecs(t *testing.T) {
	for _, tc := range []struct {
		to   bool
		in   string
		want Spec
		err  string
	}{
		{to: true, in: "type=registry,ref=r.io/c:1,mode=max", want: Spec{Type: "registry", Ref: "r.io/c:1", Mode: "max"}},
		{to: true, in: "type=local,dest=/tmp/c", want: Spec{Type: "local", Dir: "/tmp/c", Mode: "min"}},
		{to: true, in: "type=inline", want: Spec{Type: "inline", Mode: "min"}},
		{to: true, in: "type=registry,ref=r.io/c:1,cache-mounts=true", want: Spec{Type: "registry", Ref: "r.io/c:1", Mode: "min", CacheMounts: true}},
		{to: true, in: "type=local,dest=/tmp/c,mode=max,cache-mounts=1", want: Spec{Type: "local", Dir: "/tmp/c", Mode: "max", CacheMounts: true}},
		{to: true, in: "type=inline,cache-mounts=true", err: "type=inline cannot carry cache mounts"},
		{to: true, in: "type=local,dest=/c,cache-mounts=yes", err: "cache-mounts must be true or false"},
		{to: false, in: "type=registry,ref=x,cache-mounts=true", err: "cache-mounts is a --cache-to option"},
		{to: true, in: "type=registry,ref=r.io/c:1,ignore-error=true,image-manifest=true,oci-mediatypes=true", want: Spec{Type: "registry", Ref: "r.io/c:1", Mode: "min", IgnoreError: true}},
		{to: true, in: "type=registry,ref=r.io/c:1,oci-mediatypes=false", err: "drop oci-mediatypes=false"},
		{to: true, in: "type=registry,ref=r.io/c:1,compression=zstd", err: "choose their compression with --compression"},
		{to: true, in: "type=registry,ref=Bad Ref", err: "ref: "},
		{to: false, in: "type=registry,ref=r.io/UPPER:1", err: "ref: "},
		{to: false, in: "r.io/app:1", want: Spec{Type: "registry", Ref: "r.io/app:1"}},
		{to: false, in: "type=local,src=/c", want: Spec{Type: "local", Dir: "/c", Mode: "min"}},
		{to: true, in: "r.io/app:1", err: "invalid --cache-to \"r.io/app:1\": use type=registry,ref=REF"},
		{to: true, in: "type=inline,mode=max", err: "type=inline supports mode=min only"},
		{to: true, in: "type=registry", err: "type=registry needs ref="},
		{to: true, in: "type=local,src=/x", err: "--cache-to takes dest=DIR"},
		{to: true, in: "type=registry,ref=x,mode=all", err: "mode must be min or max"},
		{to: true, in: "type=s3,ref=x", err: "unknown type \"s3\""},
		{to: false, in: "type=inline", err: "invalid --cache-from \"type=inline\": inline records are read from the image itself"},
		{to: false, in: "type=registry,ref=x,mode=max", err: "mode is a --cache-to option"},
		{to: true, in: "ref=x", err: "type is missing"},
		{to: true, in: "type=registry,ref=x,ref=y", err: "ref given twice"},
	} {
		parse := ParseFrom
		if tc.to {
			parse = ParseTo
		}
		got, err := parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
