package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerOf(t *testing.T) {
	for arg, want := range map[string]Server{
		"":                            {Key: IndexServer, Host: hubHost},
		"docker.io":                   {Key: IndexServer, Host: hubHost},
		"index.docker.io":             {Key: IndexServer, Host: hubHost},
		"https://index.docker.io/v1/": {Key: IndexServer, Host: hubHost},
		"reg.example.com:5000":        {Key: "reg.example.com:5000", Host: "reg.example.com:5000"},
		"https://reg.example.com/v2/": {Key: "reg.example.com", Host: "reg.example.com"},
		"reg.example.com/some/repo":   {Key: "reg.example.com", Host: "reg.example.com"},
		"http://[::1]:5000":           {Key: "[::1]:5000", Host: "[::1]:5000"},
	} {
		if got := ServerOf(arg); got != want {
			t.Errorf("ServerOf(%q) = %+v, want %+v", arg, got, want)
		}
	}
}

// TestStoreKeepsOtherKeys: a login adds its entry and keeps every other
// key and entry, in a file of mode 0600; logout removes only its entry.
func TestStoreKeepsOtherKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	orig := `{"auths":{"other:5000":{"auth":"b3RoZXI6cHc=","email":"x@y"}},"psFormat":"table {{.ID}}","proxies":{"default":{"httpProxy":"http://p:3128"}},"currentContext":"rootless"}`
	if err := os.WriteFile(p, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.Store(ServerOf("reg:5000"), "alice", "s3cret:x")
	if err != nil || !plain {
		t.Fatalf("Store = %v, %v", plain, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	var got struct {
		Auths          map[string]map[string]string
		PsFormat       string
		Proxies        map[string]map[string]string
		CurrentContext string
	}
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.PsFormat != "table {{.ID}}" || got.Proxies["default"]["httpProxy"] != "http://p:3128" || got.CurrentContext != "rootless" {
		t.Errorf("other keys lost:\n%s", b)
	}
	if got.Auths["other:5000"]["email"] != "x@y" || got.Auths["other:5000"]["auth"] != "b3RoZXI6cHc=" {
		t.Errorf("other entry changed:\n%s", b)
	}
	if a := got.Auths["reg:5000"]["auth"]; a != base64.StdEncoding.EncodeToString([]byte("alice:s3cret:x")) {
		t.Errorf("auth = %q", a)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}

	f, err = Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if found, err := f.Erase("reg:5000"); !found || err != nil {
		t.Fatalf("Erase = %v, %v", found, err)
	}
	b, _ = os.ReadFile(p)
	if strings.Contains(string(b), "reg:5000") || !strings.Contains(string(b), "other:5000") || !strings.Contains(string(b), "psFormat") {
		t.Errorf("after erase:\n%s", b)
	}
}

// TestHelper: with credsStore, the secret goes to docker-credential-NAME
// and the file gets an empty entry, as docker writes; credHelpers wins
// for its host.
func TestHelper(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "log")
	for _, n := range []string{"test", "other"} {
		script := "#!/bin/sh\necho \"" + n + " $1 $(cat)\" >> " + log + "\n"
		if err := os.WriteFile(filepath.Join(bin, "docker-credential-"+n), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, []byte(`{"credsStore":"test","credHelpers":{"special:5000":"other"}}`), 0o600)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := f.Store(ServerOf("reg:5000"), "alice", "pw"); plain || err != nil {
		t.Fatalf("Store = %v, %v", plain, err)
	}
	if _, err := f.Store(ServerOf("special:5000"), "bob", "pw2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Erase("reg:5000"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	for _, want := range []string{
		`test store {"ServerURL":"reg:5000","Username":"alice","Secret":"pw"}`,
		`other store {"ServerURL":"special:5000","Username":"bob","Secret":"pw2"}`,
		"test erase reg:5000",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("helper calls lack %q:\n%s", want, b)
		}
	}
	c, _ := os.ReadFile(p)
	if strings.Contains(string(c), "pw") || !strings.Contains(string(c), `"special:5000": {}`) {
		t.Errorf("config.json:\n%s", c)
	}

	// A helper that is not installed is named, with where it is configured.
	os.WriteFile(p, []byte(`{"credsStore":"missing"}`), 0o600)
	f, _ = Load(p)
	_, err = f.Store(ServerOf("reg:5000"), "alice", "pw")
	if err == nil || !strings.Contains(err.Error(), "docker-credential-missing") || !strings.Contains(err.Error(), "credsStore in "+p) {
		t.Errorf("missing helper: %v", err)
	}
	if c, _ := os.ReadFile(p); string(c) != `{"credsStore":"missing"}` {
		t.Errorf("file changed after a failed store: %s", c)
	}
}

func TestLoadBadJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, []byte(`{"auths": [}`), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Load of bad JSON: %v", err)
	}
}

// TestStoreCreates: a first login creates the directory (0700) and the
// file; through a symlink, the link's target is written.
func TestStoreCreates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "new", "docker", "config.json")
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store(ServerOf("reg:5000"), "a", "b"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Dir(p)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("config directory: %v, %v", st, err)
	}
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		t.Errorf("config file: %v, %v", st, err)
	}

	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "config.json")
	os.Symlink("real.json", link)
	f, _ = Load(link)
	if _, err := f.Store(ServerOf("reg:5000"), "a", "b"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v, %v", fi, err)
	}
	if b, err := os.ReadFile(real); err != nil || !strings.Contains(string(b), "reg:5000") {
		t.Errorf("symlink target: %s, %v", b, err)
	}
}
