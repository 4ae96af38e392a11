package frontend

import (
	"reflect"
	"testing"
)

// TestBaseImages: FROM images with global ARGs expanded (build args over
// defaults), without stages, scratch or duplicates; an unset variable is empty.
func TestBaseImages(t *testing.T) {
	src := []byte(`ARG BASE=example.com/base:1
ARG TAG
FROM ${BASE} AS base
RUN true
FROM base AS dev
FROM scratch AS empty
FROM busybox:${TAG:-latest}
FROM ${BASE}
FROM --platform=$BUILDPLATFORM golang:$GOVERSION AS build
`)
	got, err := BaseImages("Dockerfile", src, map[string]string{"TAG": "1.36"})
	if err != nil {
		t.Fatal(err)
	}
	want := []BaseImage{{Ref: "example.com/base:1", Line: 3}, {Ref: "busybox:1.36", Line: 7}, {Ref: "golang:", Line: 9}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got, _ = BaseImages("Dockerfile", src, map[string]string{"BASE": "me/app-base"})
	if got[0].Ref != "me/app-base" || got[1].Ref != "busybox:latest" {
		t.Errorf("build args: got %+v", got)
	}
	if _, err := BaseImages("Dockerfile", []byte("RUN x\n"), nil); err == nil {
		t.Error("a Dockerfile without FROM is an error")
	}
}
