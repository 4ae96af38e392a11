package container

import (
	"errors"
	"slices"
	"testing"

	"github.com/gorae/gorae/imageconfig"
)

// TestContainerArgs: ENTRYPOINT + CMD as docker run combines them.
func TestContainerArgs(t *testing.T) {
	img := imageconfig.Config{Entrypoint: []string{"/ep", "-a"}, Cmd: []string{"default"}}
	cases := []struct {
		name string
		rc   Config
		cfg  imageconfig.Config
		want []string
	}{
		{"image", Config{}, img, []string{"/ep", "-a", "default"}},
		{"args replace CMD", Config{Cmd: []string{"x", "y"}}, img, []string{"/ep", "-a", "x", "y"}},
		{"--entrypoint drops CMD", Config{Entrypoint: []string{"sh"}, EntrypointSet: true}, img, []string{"sh"}},
		{"--entrypoint with args", Config{Entrypoint: []string{"sh"}, EntrypointSet: true, Cmd: []string{"-c", "true"}}, img, []string{"sh", "-c", "true"}},
		{"--entrypoint '' with args", Config{EntrypointSet: true, Cmd: []string{"ls"}}, img, []string{"ls"}},
		{"CMD only", Config{}, imageconfig.Config{Cmd: []string{"sh"}}, []string{"sh"}},
	}
	for _, c := range cases {
		got, err := c.rc.args(c.cfg)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	for _, rc := range []Config{{EntrypointSet: true}} {
		if _, err := rc.args(img); !errors.Is(err, ErrNoCommand) {
			t.Errorf("%+v: err %v, want ErrNoCommand", rc, err)
		}
	}
	if _, err := (Config{}).args(imageconfig.Config{}); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no CMD or ENTRYPOINT: err %v, want ErrNoCommand", err)
	}
}

// TestContainerEnv: Docker's order and precedence of a container's
// environment.
func TestContainerEnv(t *testing.T) {
	got := containerEnv([]string{"PATH=/bin", "A=image", "B=image"}, []string{"B=flag", "C=flag", "HOSTNAME=mine"}, "abc", "/home/app", true)
	want := []string{"HOSTNAME=mine", "TERM=xterm", "PATH=/bin", "A=image", "B=flag", "C=flag", "HOME=/home/app"}
	if !slices.Equal(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
	got = containerEnv(nil, []string{"HOME=/x"}, "abc", "/root", false)
	want = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=abc", "HOME=/x"}
	if !slices.Equal(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
}
