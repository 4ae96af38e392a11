package frontend

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

func TestMakeOutline(t *testing.T) {
	src := `ARG REG=docker.io
ARG IMG=$REG/busybox
# VERSION of the base
ARG VERSION
ARG UNUSED=1
FROM $IMG:${VERSION} AS base
ARG VERSION
# A first
ARG A=1
ENV E=env
ARG B=$A-$E
RUN --mount=type=secret,target=/run/secrets/npmrc --mount=type=ssh,id=git,required true

FROM busybox AS other
ARG O=o
RUN --mount=type=secret,id=never true

# final is the image
FROM base AS final
COPY --from=other /x /x
ARG B
`
	o, err := MakeOutline("Dockerfile", []byte(src), "", map[string]string{"VERSION": "1.36"}, amd64, amd64)
	if err != nil {
		t.Fatal(err)
	}
	want := &Outline{
		Name: "final", Description: "is the image",
		Args: []OutlineItem{
			{Name: "REG", Value: "docker.io", Line: 1},
			{Name: "IMG", Value: "docker.io/busybox", Line: 2},
			// As in BuildKit, final starts from base's FROM args, so the
			// global VERSION comes before base's own ARG VERSION; final's
			// ARG B (no default) hides base's.
			{Name: "VERSION", Value: "1.36", Description: "of the base", Line: 4},
			{Name: "A", Value: "1", Description: "first", Line: 9},
			{Name: "O", Value: "o", Line: 15},
			{Name: "B", Line: 21},
		},
		Secrets: []OutlineItem{{Name: "npmrc", Line: 12}, {Name: "never", Line: 16}},
		SSH:     []OutlineItem{{Name: "git", Required: true, Line: 12}},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("outline =\n%+v\nwant\n%+v", o, want)
	}
	o, err = MakeOutline("Dockerfile", []byte(src), "base", nil, amd64, amd64)
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := []OutlineItem{
		{Name: "REG", Value: "docker.io", Line: 1},
		{Name: "IMG", Value: "docker.io/busybox", Line: 2},
		{Name: "VERSION", Description: "of the base", Line: 4}, // inherited from the global ARG
		{Name: "A", Value: "1", Description: "first", Line: 9},
		{Name: "B", Value: "1-env", Line: 11},
	}
	if !reflect.DeepEqual(o.Args, wantArgs) || len(o.Secrets) != 1 {
		t.Errorf("outline of base =\n%+v\nwant args\n%+v", o, wantArgs)
	}
	if _, err := MakeOutline("Dockerfile", []byte(src), "nope", nil, amd64, amd64); err == nil || err.Error() != `Dockerfile: target stage "nope" could not be found` {
		t.Errorf("missing target: %v", err)
	}
}

// TestMakeOutlinePlatformArgs: the automatic platform args are in scope,
// as in BuildKit: a stage's ARG TARGETARCH without a default inherits
// its value and is not listed (unless --build-arg sets it); a global
// default that uses one has its value.
func TestMakeOutlinePlatformArgs(t *testing.T) {
	src := `ARG IMG=busybox-$TARGETARCH
FROM --platform=$BUILDPLATFORM $IMG AS build
ARG TARGETOS
ARG TARGETARCH
ARG BUILDPLATFORM
ARG SUFFIX=$TARGETOS-$TARGETARCH
ARG TARGETVARIANT=none
`
	arm := v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	o, err := MakeOutline("Dockerfile", []byte(src), "", map[string]string{"TARGETOS": "plan9"}, amd64, arm)
	if err != nil {
		t.Fatal(err)
	}
	want := []OutlineItem{
		{Name: "IMG", Value: "busybox-arm64", Line: 1},
		{Name: "TARGETOS", Value: "plan9", Line: 3},
		{Name: "SUFFIX", Value: "plan9-arm64", Line: 6},
		{Name: "TARGETVARIANT", Value: "none", Line: 7},
	}
	if !reflect.DeepEqual(o.Args, want) {
		t.Errorf("outline args =\n%+v\nwant\n%+v", o.Args, want)
	}
}

func TestTargets(t *testing.T) {
	ts, err := Targets("Dockerfile", []byte("# build compiles\nFROM busybox AS build\nFROM build\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{Name: "build", Description: "compiles", Base: "busybox", Line: 2}, {Default: true, Base: "build", Line: 3}}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("targets = %+v, want %+v", ts, want)
	}
}
