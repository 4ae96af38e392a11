package images

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestParsePlatforms(t *testing.T) {
	host := "linux/" + runtime.GOARCH
	for _, tc := range []struct {
		in   []string
		want string // platforms joined by space, or the error
	}{
		{nil, host},
		{[]string{""}, host},
		{[]string{"linux/amd64"}, "linux/amd64"},
		{[]string{"linux/amd64,linux/arm64"}, "linux/amd64 linux/arm64"},
		{[]string{"linux/arm64", "linux/amd64"}, "linux/arm64 linux/amd64"},
		{[]string{"linux/amd64, linux/arm64,"}, "linux/amd64 linux/arm64"},
		{[]string{"Linux/X86_64"}, "linux/amd64"},
		{[]string{"linux/x86-64/v1"}, "linux/amd64"},
		{[]string{"linux/amd64/v3"}, "linux/amd64/v3"},
		{[]string{"linux/aarch64"}, "linux/arm64"},
		{[]string{"linux/arm64/v8"}, "linux/arm64"},
		{[]string{"linux/arm64/8"}, "linux/arm64"},
		{[]string{"linux/arm"}, "linux/arm/v7"},
		{[]string{"linux/arm/7"}, "linux/arm/v7"},
		{[]string{"linux/arm/v6"}, "linux/arm/v6"},
		{[]string{"linux/armhf"}, "linux/arm/v7"},
		{[]string{"linux/armel"}, "linux/arm/v6"},
		{[]string{"linux/i386", "linux/i686"}, "linux/386"},
		{[]string{"arm64"}, "linux/arm64"},
		{[]string{"x86_64"}, "linux/amd64"},
		{[]string{"linux"}, host},
		{[]string{"linux/amd64,linux/arm64/v8,linux/arm64,linux/x86_64"}, "linux/amd64 linux/arm64"},
		{[]string{"linux/s390x", "linux/ppc64le,linux/riscv64"}, "linux/s390x linux/ppc64le linux/riscv64"},
		{[]string{"x"}, `invalid --platform "x": not an OS or architecture; use os/arch[/variant], e.g. linux/amd64`},
		{[]string{"linux/amd64,linux//arm64"}, `invalid --platform "linux//arm64": use os/arch[/variant], e.g. linux/amd64`},
		{[]string{"linux/"}, `invalid --platform "linux/": use os/arch[/variant], e.g. linux/amd64`},
		{[]string{"linux/arm/v7/x"}, `invalid --platform "linux/arm/v7/x": use os/arch[/variant], e.g. linux/amd64`},
		{[]string{"linux/am d64"}, `invalid --platform "linux/am d64": use os/arch[/variant], e.g. linux/amd64`},
	} {
		ps, err := ParsePlatforms(tc.in)
		var got string
		if err != nil {
			got = err.Error()
		} else {
			var s []string
			for _, p := range ps {
				s = append(s, FormatPlatform(p))
			}
			got = strings.Join(s, " ")
		}
		if got != tc.want {
			t.Errorf("ParsePlatforms(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParsePlatformNormalizes(t *testing.T) {
	for in, want := range map[string]string{"": "linux/" + runtime.GOARCH, "linux/aarch64/v8": "linux/arm64", "linux/arm": "linux/arm/v7", "amd64": "linux/amd64"} {
		p, err := ParsePlatform(in)
		if err != nil || FormatPlatform(p) != want {
			t.Errorf("ParsePlatform(%q) = %s, %v; want %s", in, FormatPlatform(p), err, want)
		}
	}
	if _, err := ParsePlatform("linux,arm64"); err == nil || !strings.Contains(err.Error(), `invalid --platform "linux,arm64"`) {
		t.Errorf("ParsePlatform of a list = %v", fmt.Sprint(err))
	}
}
