package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok.txt")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"TOKEN": "from-env", "API": "api-env"})
	got, err := parseSecrets([]string{
		"id=a,src=" + file,
		"id=b,source=" + file + ",type=file",
		"id=c,env=TOKEN",
		"id=TOKEN",
		"id=d,type=env,src=API", // buildx: src names the variable for type=env
	}, env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "from-file\n", "b": "from-file\n", "c": "from-env", "TOKEN": "from-env", "d": "api-env"}
	if len(got) != len(want) {
		t.Errorf("got %d secrets, want %d: %q", len(got), len(want), got)
	}
	for id, v := range want {
		if string(got[id]) != v {
			t.Errorf("secret %s = %q, want %q", id, got[id], v)
		}
	}

	for spec, msg := range map[string]string{
		"id=x,src=" + filepath.Join(dir, "missing"): "--secret id=x: read secret file",
		"id=NOPE":                         "environment variable NOPE is not set",
		"src=" + file:                     "id= is required",
		"id=x,type=ssh":                   "type must be file or env",
		"id=x,src=" + file + ",env=TOKEN": "not both",
		"id=x,color=red":                  `unknown key "color"`,
		"id=x,src":                        "is not KEY=VALUE",
	} {
		_, err := parseSecrets([]string{spec}, env)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), msg) {
			t.Errorf("--secret %s: error %v, want a usage error containing %q", spec, err, msg)
		}
	}
	if _, err := parseSecrets([]string{"id=a,env=TOKEN", "id=a,env=API"}, env); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate id: %v", err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, maxSecretSize+1), 0o600)
	if _, err := parseSecrets([]string{"id=big,src=" + big}, env); err == nil || !strings.Contains(err.Error(), "larger than 500 KiB") {
		t.Errorf("oversized secret: %v", err)
	}
}

func TestParseSSH(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	key := filepath.Join(dir, "id_ed25519")
	os.WriteFile(key, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"), 0o600)

	got, err := parseSSH([]string{"default", "git=" + sock}, envOf(map[string]string{"SSH_AUTH_SOCK": sock}))
	if err != nil {
		t.Fatal(err)
	}
	if got["default"] != sock || got["git"] != sock || len(got) != 2 {
		t.Errorf("parseSSH = %v", got)
	}
	for spec, msg := range map[string]string{
		"default":                  "SSH_AUTH_SOCK is not set",
		"git=" + key:               "is not a socket: gorae forwards ssh agents only, not key files",
		"git=" + sock + "," + sock: "only one agent socket per id",
		"git=" + dir + "/none":     "agent socket",
		"=x":                       "use default, ID or ID=SOCKET",
	} {
		_, err := parseSSH([]string{spec}, envOf(nil))
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "--ssh") {
			t.Errorf("--ssh %s: error %v, want a usage error naming --ssh and containing %q", spec, err, msg)
		}
	}
}
