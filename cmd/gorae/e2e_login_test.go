package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorae/gorae/internal/testutil"
	"github.com/gorae/gorae/runner"
)

// loginEnv points gorae at a temporary Docker config directory and
// certs.d directory, and returns their paths.
func loginEnv(t *testing.T, g *testutil.Gorae) (config, certsD string) {
	t.Helper()
	dir := t.TempDir()
	config, certsD = filepath.Join(dir, "docker"), filepath.Join(dir, "certs.d")
	g.Env = append(g.Env, "DOCKER_CONFIG="+config, "GORAE_CERTS_D="+certsD)
	return config, certsD
}

// TestLogin walks a CI job through a private registry with a password
// and a certificate from a private CA: an unknown CA and a wrong
// password fail with one clear error and write nothing; after login,
// build --push and pull work; after logout, a push is refused.
func TestLogin(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	reg := testutil.StartSecureRegistry(t, "alice", "wonder land")
	config, certsD := loginEnv(t, g)
	cfgFile := filepath.Join(config, "config.json")
	login := func(password string) testutil.Result {
		return g.RunStdin(t, ".", password+"\n", "login", "-u", reg.User, "--password-stdin", reg.Host)
	}
	noConfig := func(when string) {
		t.Helper()
		if _, err := os.Stat(cfgFile); !os.IsNotExist(err) {
			t.Errorf("%s: config.json written (%v)", when, err)
		}
	}

	// The CA is not known yet.
	r := login(reg.Password)
	if r.Code != 1 || !strings.Contains(r.Stderr, "unknown authority") || !strings.Contains(r.Stderr, filepath.Join(certsD, reg.Host, "ca.crt")) {
		t.Errorf("login with an unknown CA: exit %d, want 1 and an error naming certs.d:\n%s", r.Code, r.Stderr)
	}
	noConfig("unknown CA")
	t.Logf("login with an unknown CA said:\n%s", r.Stderr)
	r = g.Run(t, ".", "pull", reg.Host+"/team/app:1")
	if r.Code != 1 || !strings.Contains(r.Stderr, "unknown authority") || !strings.Contains(r.Stderr, filepath.Join(certsD, reg.Host, "ca.crt")) {
		t.Errorf("pull with an unknown CA: exit %d, want 1 and an error naming certs.d:\n%s", r.Code, r.Stderr)
	}
	if err := os.MkdirAll(filepath.Join(certsD, reg.Host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certsD, reg.Host, "ca.crt"), reg.CA, 0o644); err != nil {
		t.Fatal(err)
	}

	r = login("wrong")
	if r.Code != 1 || !strings.Contains(r.Stderr, "wrong username or password") || !strings.Contains(r.Stderr, reg.Host) ||
		strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("login with a wrong password: exit %d, want 1 and one line naming the registry:\n%s", r.Code, r.Stderr)
	}
	noConfig("wrong password")
	t.Logf("login with a wrong password said:\n%s", r.Stderr)

	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo pushed > /hello\n"})
	image := reg.Host + "/team/app:1"
	r = g.Run(t, dir, "build", "--progress=plain", "--push", "-t", image, ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "authentication required") || !strings.Contains(r.Stderr, "gorae login "+reg.Host) {
		t.Errorf("push before login: exit %d, want 1 and an auth error:\n%s", r.Code, r.Stderr)
	}

	// A config with other keys, as Docker Desktop or a CI image leaves it.
	if err := os.MkdirAll(config, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte(`{"psFormat": "table {{.ID}}", "auths": {"other.example:5000": {"auth": "eDp5"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = login(reg.Password)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Login Succeeded") {
		t.Fatalf("login: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	cfg := readConfig(t, cfgFile)
	if got := cfg.Auths[reg.Host]["auth"]; got != base64.StdEncoding.EncodeToString([]byte("alice:wonder land")) {
		t.Errorf("auths[%s].auth = %q", reg.Host, got)
	}
	if cfg.PsFormat != "table {{.ID}}" || cfg.Auths["other.example:5000"]["auth"] != "eDp5" {
		t.Errorf("login lost other keys of config.json: %+v", cfg)
	}
	if st, err := os.Stat(cfgFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode: %v, %v; want 0600", st.Mode(), err)
	}

	g.Must(t, dir, "build", "--progress=plain", "--push", "-t", image, ".")
	// Another machine (root) with the same login pulls and runs it.
	g2 := &testutil.Gorae{Bin: g.Bin, Root: t.TempDir(), Env: g.Env}
	g2.Must(t, ".", "pull", image)
	if r := g2.Must(t, ".", "run", "--rm", image, "cat", "/hello"); r.Stdout != "pushed\n" {
		t.Errorf("pulled image's /hello = %q", r.Stdout)
	}

	r = g.Must(t, ".", "logout", reg.Host)
	if !strings.Contains(r.Stdout, "Removing login credentials for "+reg.Host) {
		t.Errorf("logout said %q", r.Stdout)
	}
	cfg = readConfig(t, cfgFile)
	if _, ok := cfg.Auths[reg.Host]; ok || cfg.PsFormat == "" || cfg.Auths["other.example:5000"] == nil {
		t.Errorf("after logout: %+v", cfg)
	}
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo again > /hello\n"})
	r = g.Run(t, dir, "build", "--progress=plain", "--push", "-t", image, ".")
	if r.Code != 1 || !strings.Contains(r.Stderr, "authentication required") {
		t.Errorf("push after logout: exit %d, want 1 and an auth error:\n%s", r.Code, r.Stderr)
	}
	t.Logf("push after logout said:\n%s", r.Stderr)
}

// TestLoginCredentialHelper: with credsStore set, the password goes to
// docker-credential-NAME, never into config.json, and pushes read it
// back through the helper.
func TestLoginCredentialHelper(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	reg := testutil.StartSecureRegistry(t, "bob", "builder")
	config, certsD := loginEnv(t, g)
	os.MkdirAll(filepath.Join(certsD, reg.Host), 0o755)
	os.WriteFile(filepath.Join(certsD, reg.Host, "ca.crt"), reg.CA, 0o644)
	// A helper that keeps one credential in a file, like pass or
	// secretservice keep them elsewhere.
	bin := t.TempDir()
	store := filepath.Join(bin, "store.json")
	helper := `#!/bin/sh
case "$1" in
store) cat > ` + store + ` ;;
get) if [ -f ` + store + ` ]; then cat ` + store + `; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) rm -f ` + store + ` ;;
list) echo '{}' ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-gtest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	g.Env = append(g.Env, "PATH="+bin+":"+os.Getenv("PATH"))
	os.MkdirAll(config, 0o700)
	os.WriteFile(filepath.Join(config, "config.json"), []byte(`{"credsStore": "gtest"}`), 0o600)

	if r := g.RunStdin(t, ".", reg.Password, "login", "-u", reg.User, "--password-stdin", reg.Host); r.Code != 0 {
		t.Fatalf("login: exit %d\n%s", r.Code, r.Stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(config, "config.json")); strings.Contains(string(b), "auth\"") || !strings.Contains(string(b), reg.Host) {
		t.Errorf("config.json with a credential helper:\n%s", b)
	}
	if b, _ := os.ReadFile(store); !strings.Contains(string(b), `"Secret":"builder"`) {
		t.Errorf("helper store got %s", b)
	}
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN echo helper > /hello\n"})
	g.Must(t, dir, "build", "--progress=plain", "--push", "-t", reg.Host+"/app:1", ".")

	// docker login without -u: the stored credentials still work.
	r := g.Must(t, ".", "login", reg.Host)
	if !strings.Contains(r.Stdout, "Login Succeeded") || !strings.Contains(r.Stderr, "existing credentials") {
		t.Errorf("login with stored credentials:\n%s%s", r.Stdout, r.Stderr)
	}
	g.Must(t, ".", "logout", reg.Host)
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("logout left the helper's credential: %v", err)
	}
}

// TestLoginUsage: bad flags exit 2 and non-interactive logins without a
// password say how to give one.
func TestLoginUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test (runs the gorae binary)")
	}
	g := &testutil.Gorae{Bin: goraeBin, Root: t.TempDir()}
	loginEnv(t, g)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"login", "--password-stdin", "reg:5000"}, 2, "--password-stdin needs --username"},
		{[]string{"login", "-u", "x", "-p", "y", "--password-stdin", "reg:5000"}, 2, "--password and --password-stdin"},
		{[]string{"login", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"login", "a", "b"}, 2, "at most one registry"},
		{[]string{"login", "-u", "x", "127.0.0.1:1"}, 1, "use -u USER --password-stdin"},
		{[]string{"logout", "a", "b"}, 2, "at most one registry"},
	} {
		r := g.Run(t, ".", c.args...)
		if r.Code != c.code || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("gorae %s: exit %d, want %d and %q:\n%s", strings.Join(c.args, " "), r.Code, c.code, c.want, r.Stderr)
		}
	}
}

type dockerConfig struct {
	Auths    map[string]map[string]string `json:"auths"`
	PsFormat string                       `json:"psFormat"`
}

func readConfig(t *testing.T, p string) dockerConfig {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var c dockerConfig
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v\n%s", p, err, b)
	}
	return c
}

// TestLoginPrompt: on a terminal, gorae login asks for what is missing,
// and the password is not echoed.
func TestLoginPrompt(t *testing.T) {
	requireRoot(t)
	g := newGorae(t)
	reg := testutil.StartSecureRegistry(t, "carol", "s3cret-pw")
	config, certsD := loginEnv(t, g)
	os.MkdirAll(filepath.Join(certsD, reg.Host), 0o755)
	os.WriteFile(filepath.Join(certsD, reg.Host, "ca.crt"), reg.CA, 0o644)
	con, err := runner.NewConsole()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer con.Close()
	cmd := exec.Command(g.Bin, "login", reg.Host)
	cmd.Env = append(append(os.Environ(), g.Env...), "GORAE_ROOT="+g.Root)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = con.Slave, con.Slave, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		out []byte
	)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := con.Master.Read(buf)
			mu.Lock()
			out = append(out, buf[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			ok := strings.Contains(string(out), s)
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no %q on the terminal; it shows:\n%s\nstderr:\n%s", s, out, stderr.String())
	}
	waitFor("Username: ")
	io.WriteString(con.Master, reg.User+"\n")
	waitFor("Password: ")
	io.WriteString(con.Master, reg.Password+"\n")
	waitFor("Login Succeeded")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	mu.Lock()
	shown := string(out)
	mu.Unlock()
	if strings.Contains(shown, reg.Password) {
		t.Errorf("the password was echoed:\n%s", shown)
	}
	if cfg := readConfig(t, filepath.Join(config, "config.json")); cfg.Auths[reg.Host]["auth"] != base64.StdEncoding.EncodeToString([]byte("carol:s3cret-pw")) {
		t.Errorf("config after the prompted login: %+v", cfg)
	}
}
