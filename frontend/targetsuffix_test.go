package frontend

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestTargetSuffix: the "->TARGET" of a build-platform stage's step names
// is BuildKit's formatTargetPlatform, which normalizes the target as
// containerd does (arm alone is arm/v7, arm64/v8 is arm64).
func TestTargetSuffix(t *testing.T) {
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	for _, tc := range []struct {
		env  envList
		want string
	}{
		{nil, ""},
		{envList{"TARGETARCH=arm64"}, "->arm64"},
		{envList{"TARGETARCH=amd64"}, ""},
		{envList{"TARGETOS=linux"}, ""},
		{envList{"TARGETARCH=arm"}, "->arm/v7"},
		{envList{"TARGETARCH=arm", "TARGETVARIANT=v6"}, "->arm/v6"},
		{envList{"TARGETARCH=arm64", "TARGETVARIANT=v8"}, "->arm64"},
		{envList{"TARGETPLATFORM=linux/arm/v7"}, "->arm/v7"},
		{envList{"TARGETPLATFORM=linux/arm"}, "->arm/v7"},
		{envList{"TARGETPLATFORM=linux/arm64/v8"}, "->arm64"},
		{envList{"TARGETPLATFORM=windows/amd64"}, "->windows/amd64"},
	} {
		if got := targetSuffix(amd, tc.env); got != tc.want {
			t.Errorf("targetSuffix(linux/amd64, %q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}
