package frontend

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/imageconfig"
)

func convertString(t *testing.T, dockerfile string, mod func(*Options)) (*Result, error) {
	t.Helper()
	o := caseOptions(t, dockerfile, "")
	if mod != nil {
		mod(&o)
	}
	return Convert(t.Context(), o)
}

func TestErrorFormat(t *testing.T) {
	df := "FROM busybox\nRUN a\nRUN b\nRUN c\nRUN d\nRUN e\nCOPPY a b\n"
	_, err := convertString(t, df, nil)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *frontend.Error", err, err)
	}
	want := "Dockerfile:7: unknown instruction: COPPY (did you mean COPY?)\n    7 | COPPY a b"
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
	if fe.File != "Dockerfile" || fe.Line != 7 || fe.Text != "COPPY a b" || fe.Msg != "unknown instruction: COPPY (did you mean COPY?)" {
		t.Errorf("fields = %+v", *fe)
	}
}

func TestErrorUsesFileName(t *testing.T) {
	_, err := convertString(t, "FROM busybox\nCOPY --from=nope-stage-9 /a /b\n", func(o *Options) { o.File = "docker/Dockerfile.dev" })
	var fe *Error
	if !errors.As(err, &fe) || fe.File != "docker/Dockerfile.dev" || fe.Line != 2 {
		t.Fatalf("got %#v", err)
	}
	if !strings.HasPrefix(err.Error(), "docker/Dockerfile.dev:2: nope-stage-9: ") {
		t.Errorf("Error() = %q", err)
	}
}

func TestErrorLineOfMultilineInstruction(t *testing.T) {
	df := "FROM busybox\nRUN --mount=type=bogus,target=/x \\\n    true\n"
	_, err := convertString(t, df, nil)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %v", err)
	}
	if fe.Line != 2 || !strings.Contains(fe.Msg, `unsupported mount type "bogus"`) {
		t.Errorf("got %+v", *fe)
	}
}

func TestErrorWithoutLine(t *testing.T) {
	_, err := convertString(t, "FROM busybox AS app\nFROM app AS test\n", func(o *Options) { o.Target = "production" })
	want := `Dockerfile: target stage "production" could not be found; stages are: app, test`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestResolverCalledOncePerRefAndPlatform(t *testing.T) {
	r := &fakeResolver{}
	df := `FROM busybox AS a
FROM busybox AS b
COPY --from=busybox /bin/sh /sh
RUN --mount=from=busybox,target=/b true
FROM --platform=linux/arm64 busybox AS c
FROM alpine:3.20 AS pruned
FROM scratch
COPY --from=a / /a
COPY --from=b / /b
COPY --from=c / /c
`
	res, err := convertString(t, df, func(o *Options) { o.Resolver = r })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"docker.io/library/busybox:latest linux/amd64": 1,
		"docker.io/library/busybox:latest linux/arm64": 1,
	}
	if len(r.calls) != len(want) {
		t.Errorf("calls = %v, want %v", r.calls, want)
	}
	for k, n := range want {
		if r.calls[k] != n {
			t.Errorf("calls[%s] = %d, want %d", k, r.calls[k], n)
		}
	}
	if res.Stages != 4 {
		t.Errorf("Stages = %d, want 4 (pruned stage excluded)", res.Stages)
	}
}

func TestResultHistoryNodes(t *testing.T) {
	res, err := convertString(t, "FROM busybox\nENV A=1\nWORKDIR /w\nCOPY . .\nRUN make\nUSER x\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	var layers []*graph.Node
	for _, h := range res.History {
		if h.History.EmptyLayer != (h.Node == nil) {
			t.Errorf("%q: EmptyLayer=%v but Node=%v", h.History.CreatedBy, h.History.EmptyLayer, h.Node)
		}
		if h.History.Comment != historyComment || !h.History.Created.IsZero() {
			t.Errorf("%q: comment %q created %v", h.History.CreatedBy, h.History.Comment, h.History.Created)
		}
		if h.Node != nil {
			layers = append(layers, h.Node)
		}
	}
	kinds := []string{}
	for _, n := range layers {
		kinds = append(kinds, n.Op.Kind())
	}
	if !slices.Equal(kinds, []string{"mkdir", "copy", "run"}) {
		t.Errorf("layer kinds = %v", kinds)
	}
	if res.Root != layers[len(layers)-1] {
		t.Error("Root is not the last layer node")
	}
	if len(res.Config.History) != 1 || len(res.Config.RootFS.DiffIDs) != 0 {
		t.Errorf("config history %v rootfs %v: want base history only and empty rootfs", res.Config.History, res.Config.RootFS)
	}
	if res.Config.Config.User != "x" {
		t.Errorf("User = %q", res.Config.Config.User)
	}
}

// sharedResolver hands out the same config object on every call, to catch
// a frontend that modifies what the resolver returns.
type sharedResolver struct{ cfg *imageconfig.File }

func (r sharedResolver) Resolve(_ context.Context, ref string, _ v1.Platform) (*ResolvedImage, error) {
	return &ResolvedImage{Ref: ref, Digest: "sha256:" + strings.Repeat("1", 64), Config: r.cfg}, nil
}

func TestBaseConfigNotModified(t *testing.T) {
	cfg, _ := fakeConfig("docker.io/library/nginx:latest", v1.Platform{OS: "linux", Architecture: "amd64"})
	before := compactJSON(cfg)
	_, err := convertString(t, "FROM nginx\nENV A=1\nLABEL x=y\nEXPOSE 81\nENTRYPOINT [\"x\"]\nFROM nginx\nVOLUME /v\n", func(o *Options) {
		o.Resolver = sharedResolver{cfg}
		o.Labels = map[string]string{"l": "v"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := compactJSON(cfg); after != before {
		t.Errorf("resolver's config changed:\n%s\n%s", before, after)
	}
}

func TestDeterministic(t *testing.T) {
	df := "FROM golang:1.23 AS b\nRUN --mount=type=cache,target=/c go build\nFROM busybox\nCOPY --from=b /go/bin /bin\nADD https://example.com/x /x\n"
	a, err := convertString(t, df, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := convertString(t, df, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Root.Digest() != b.Root.Digest() || Dump(a) != Dump(b) {
		t.Error("two conversions of the same Dockerfile differ")
	}
	c, err := convertString(t, strings.Replace(df, "go build", "go build -v", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Root.Digest() == a.Root.Digest() {
		t.Error("changing a RUN command did not change the root digest")
	}
}

func TestWarnings(t *testing.T) {
	var got []Warning
	_, err := convertString(t, "FROM busybox\nCMD echo hi\n", func(o *Options) {
		o.File = "Dockerfile.x"
		o.Warn = func(w Warning) { got = append(got, w) }
		o.BuildArgs = map[string]string{"NOPE": "1"}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{
		{File: "Dockerfile.x", Line: 2, Rule: "JSONArgsRecommended", Msg: "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
			URL: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/", Lines: [][2]int{{2, 2}}},
		{File: "Dockerfile.x", Rule: "", Msg: "[Warning] One or more build-args [NOPE] were not consumed"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings =\n%+v\nwant\n%+v", got, want)
	}
}

func TestNilWarnIsFine(t *testing.T) {
	if _, err := convertString(t, "FROM busybox\nCMD echo hi\nMAINTAINER x\n", nil); err != nil {
		t.Fatal(err)
	}
}

func TestResolverErrorAndCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	o := caseOptions(t, "FROM busybox\n", "")
	o.Resolver = ctxResolver{}
	_, err := Convert(ctx, o)
	if !errors.As(err, new(*Error)) || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("got %v", err)
	}
	o.Resolver = nil
	if _, err := Convert(t.Context(), o); err == nil || !strings.Contains(err.Error(), "no image resolver") {
		t.Errorf("nil resolver: got %v", err)
	}
}

type ctxResolver struct{}

func (ctxResolver) Resolve(ctx context.Context, _ string, _ v1.Platform) (*ResolvedImage, error) {
	return nil, ctx.Err()
}

func TestNormalizeRef(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                          "docker.io/library/busybox:latest",
		"busybox:1.36":                     "docker.io/library/busybox:1.36",
		"user/app":                         "docker.io/user/app:latest",
		"docker.io/library/alpine":         "docker.io/library/alpine:latest",
		"localhost/app":                    "localhost/app:latest",
		"127.0.0.1:5000/base/busybox:v1":   "127.0.0.1:5000/base/busybox:v1",
		"ghcr.io/o/r@sha256:" + hex64('a'): "ghcr.io/o/r@sha256:" + hex64('a'),
	} {
		got, err := normalizeRef(in)
		if err != nil || got != want {
			t.Errorf("normalizeRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"Busybox", "a b", "busybox:", "x@sha256:12", "-x"} {
		if got, err := normalizeRef(bad); err == nil {
			t.Errorf("normalizeRef(%q) = %q, want error", bad, got)
		}
	}
}

func hex64(c byte) string { return strings.Repeat(string(c), 64) }

func TestDestPath(t *testing.T) {
	for _, tc := range [][3]string{
		{"/w", ".", "/w/"},
		{"/w", "", "/w/"},
		{"/w", "a", "/w/a"},
		{"/w", "a/", "/w/a/"},
		{"/w", "/abs/../x", "/x"},
		{"/", "./", "/"},
		{"/w", "/x/.", "/x/."},
		{"/", "/.", "/."},
	} {
		if got := destPath(tc[0], tc[1]); got != tc[2] {
			t.Errorf("destPath(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestIsDockerfileV1(t *testing.T) {
	for ref, want := range map[string]bool{
		"docker/dockerfile:1":                      true,
		"docker/dockerfile:1.7":                    true,
		"docker.io/docker/dockerfile:1.7.1":        true,
		"docker/dockerfile:1@sha256:" + hex64('b'): true,
		"docker/dockerfile:1-labs":                 false,
		"docker/dockerfile:2":                      false,
		"example.com/frontend:1":                   false,
	} {
		if got := isDockerfileV1(ref); got != want {
			t.Errorf("isDockerfileV1(%q) = %v", ref, got)
		}
	}
}
