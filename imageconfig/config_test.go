package imageconfig

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestMirrorsGGCR: File and Config have ggcr's fields in ggcr's order with
// ggcr's tags; only the types this package extends differ.
func TestMirrorsGGCR(t *testing.T) {
	extended := map[reflect.Type]reflect.Type{
		reflect.TypeFor[v1.Config]():        reflect.TypeFor[Config](),
		reflect.TypeFor[*v1.HealthConfig](): reflect.TypeFor[*HealthConfig](),
	}
	for theirs, ours := range map[reflect.Type]reflect.Type{
		reflect.TypeFor[v1.ConfigFile](): reflect.TypeFor[File](),
		reflect.TypeFor[v1.Config]():     reflect.TypeFor[Config](),
	} {
		if theirs.NumField() != ours.NumField() {
			t.Errorf("%v has %d fields, %v %d", theirs, theirs.NumField(), ours, ours.NumField())
			continue
		}
		for i := range theirs.NumField() {
			a, b := theirs.Field(i), ours.Field(i)
			typ := a.Type
			if e, ok := extended[typ]; ok {
				typ = e
			}
			if a.Name != b.Name || a.Tag != b.Tag || typ != b.Type {
				t.Errorf("field %d: ggcr %s %v `%s`, ours %s %v `%s`", i, a.Name, a.Type, a.Tag, b.Name, b.Type, b.Tag)
			}
		}
	}
	// Docker's HealthConfig is ggcr's with StartInterval after StartPeriod.
	theirs, ours := reflect.TypeFor[v1.HealthConfig](), reflect.TypeFor[HealthConfig]()
	var names []string
	for i := range ours.NumField() {
		names = append(names, ours.Field(i).Name)
		if f, ok := theirs.FieldByName(ours.Field(i).Name); ok && (f.Type != ours.Field(i).Type || f.Tag != ours.Field(i).Tag) {
			t.Errorf("HealthConfig.%s differs from ggcr's", f.Name)
		}
	}
	if got := strings.Join(names, " "); got != "Test Interval Timeout StartPeriod StartInterval Retries" {
		t.Errorf("HealthConfig fields %s", got)
	}
}

func full() *v1.ConfigFile {
	return &v1.ConfigFile{
		Architecture: "arm64", Author: "a", Container: "c", Created: v1.Time{Time: time.Unix(1700000000, 5).UTC()},
		DockerVersion: "25", History: []v1.History{{CreatedBy: "x", EmptyLayer: true, Created: v1.Time{Time: time.Unix(1, 0).UTC()}}},
		OS: "linux", RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}}},
		OSVersion: "1", Variant: "v8", OSFeatures: []string{"f"},
		Config: v1.Config{
			AttachStderr: true, AttachStdin: true, AttachStdout: true, Cmd: []string{"c"},
			Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "true"}, Interval: 1, Timeout: 2, StartPeriod: 3, Retries: 4},
			Domainname:  "d", Entrypoint: []string{"e"}, Env: []string{"A=1"}, Hostname: "h", Image: "i",
			Labels: map[string]string{"b": "2", "a": "1"}, OnBuild: []string{"RUN x"}, OpenStdin: true, StdinOnce: true, Tty: true,
			User: "u", Volumes: map[string]struct{}{"/v": {}}, WorkingDir: "/w", ExposedPorts: map[string]struct{}{"80/tcp": {}},
			ArgsEscaped: true, NetworkDisabled: true, MacAddress: "m", StopSignal: "SIGTERM", Shell: []string{"/bin/sh"},
		},
	}
}

// TestSameBytesAsGGCR: a config without the extra fields is written byte
// for byte as ggcr writes it, so image digests do not change.
func TestSameBytesAsGGCR(t *testing.T) {
	for _, cf := range []*v1.ConfigFile{full(), {}, {OS: "linux", Architecture: "amd64"}} {
		want, _ := json.Marshal(cf)
		f, err := FromV1(cf)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(f)
		if !bytes.Equal(got, want) {
			t.Errorf("ours:\n%s\nggcr:\n%s", got, want)
		}
		if got, _ := json.Marshal(f.DeepCopy()); !bytes.Equal(got, want) {
			t.Errorf("DeepCopy changed the config:\n%s", got)
		}
	}
}

func TestStartIntervalKept(t *testing.T) {
	raw := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Healthcheck":{"Test":["CMD","/bin/true"],"Interval":5000000000,"StartInterval":2000000000}}}`)
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if h := f.Config.Healthcheck; h == nil || h.StartInterval != 2*time.Second || h.Interval != 5*time.Second {
		t.Fatalf("Healthcheck = %+v", h)
	}
	out, _ := json.Marshal(f)
	if !strings.Contains(string(out), `"Healthcheck":{"Test":["CMD","/bin/true"],"Interval":5000000000,"StartInterval":2000000000}`) {
		t.Errorf("written as %s", out)
	}
	c := f.DeepCopy()
	c.Config.Healthcheck.Test[0] = "X"
	if f.Config.Healthcheck.Test[0] != "CMD" {
		t.Error("DeepCopy shares the healthcheck")
	}
	v, err := f.V1()
	if err != nil || v.Config.Healthcheck.Interval != 5*time.Second || v.OS != "linux" {
		t.Errorf("V1() = %+v, %v", v, err)
	}
	if _, err := Parse([]byte(`{"config":[]}`)); err == nil || !strings.Contains(err.Error(), "parse image config") {
		t.Errorf("Parse of bad JSON: %v", err)
	}
}
