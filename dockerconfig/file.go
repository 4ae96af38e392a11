package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Path returns the config file docker uses: $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json.
func Path() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the Docker config: %w; set DOCKER_CONFIG to its directory", err)
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// File is one config.json, with every key it holds.
type File struct {
	path string
	top  map[string]json.RawMessage
	// auths is "auths", entry by entry, each kept as its fields so
	// that fields gorae does not know survive.
	auths       map[string]map[string]json.RawMessage
	credsStore  string
	credHelpers map[string]string
}

// Load reads the config file at path; a missing file is an empty one.
func Load(path string) (*File, error) {
	f := &File{path: path, top: map[string]json.RawMessage{}, auths: map[string]map[string]json.RawMessage{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Docker config: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return f, nil
	}
	bad := func(what string, err error) error {
		return fmt.Errorf("%s: %s is not valid JSON (%v): fix or remove it", path, what, err)
	}
	if err := json.Unmarshal(b, &f.top); err != nil {
		return nil, bad("the file", err)
	}
	if raw, ok := f.top["auths"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &f.auths); err != nil {
			return nil, bad(`"auths"`, err)
		}
		if f.auths == nil {
			f.auths = map[string]map[string]json.RawMessage{}
		}
	}
	if raw, ok := f.top["credsStore"]; ok {
		if err := json.Unmarshal(raw, &f.credsStore); err != nil {
			return nil, bad(`"credsStore"`, err)
		}
	}
	if raw, ok := f.top["credHelpers"]; ok {
		if err := json.Unmarshal(raw, &f.credHelpers); err != nil {
			return nil, bad(`"credHelpers"`, err)
		}
	}
	return f, nil
}

// Path is the file's location.
func (f *File) Path() string { return f.path }

// Helper names the credential helper for key ("" for none), as docker
// chooses it: credHelpers[key], else credsStore.
func (f *File) Helper(key string) string {
	if h, ok := f.credHelpers[key]; ok {
		return h
	}
	return f.credsStore
}

// Store saves user and password for s: in its credential helper (and an
// empty "auths" entry, as docker writes), or base64-encoded in "auths".
// It reports whether the password went into the file unencrypted.
func (f *File) Store(s Server, user, password string) (plain bool, err error) {
	entry := f.auths[s.Key]
	if entry == nil {
		entry = map[string]json.RawMessage{}
	}
	for _, k := range []string{"auth", "username", "password", "identitytoken", "serveraddress"} {
		delete(entry, k)
	}
	if h := f.Helper(s.Key); h != "" {
		if err := helperStore(h, s.Key, user, password); err != nil {
			return false, f.helperError(h, s.Key, err)
		}
	} else {
		auth, _ := json.Marshal(base64.StdEncoding.EncodeToString([]byte(user + ":" + password)))
		entry["auth"] = auth
		plain = true
	}
	f.auths[s.Key] = entry
	return plain, f.save()
}

// Erase removes the credentials stored under key, from its helper and
// from "auths". It reports whether the file had an entry for key; a
// helper's refusal (nothing stored there) is its error.
func (f *File) Erase(key string) (found bool, err error) {
	_, found = f.auths[key]
	if h := f.Helper(key); h != "" {
		if herr := helperErase(h, key); herr != nil {
			err = f.helperError(h, key, herr)
		}
	}
	if found {
		delete(f.auths, key)
		if serr := f.save(); serr != nil {
			return found, serr
		}
	}
	return found, err
}

func (f *File) helperError(h, key string, err error) error {
	where := "credsStore"
	if _, ok := f.credHelpers[key]; ok {
		where = "credHelpers[" + key + "]"
	}
	return fmt.Errorf("credential helper docker-credential-%s (%s in %s): %w", h, where, f.path, err)
}

// save writes the file atomically with mode 0600: a temporary file in
// its directory, renamed over it (over a symlink's target, as docker
// does). The owner of an existing file is kept.
func (f *File) save() (err error) {
	auths, err := json.Marshal(f.auths)
	if err != nil {
		return err
	}
	f.top["auths"] = auths
	b, err := json.MarshalIndent(f.top, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("write Docker config: %w", err)
	}
	target := f.path
	if p, err := filepath.EvalSymlinks(target); err == nil {
		target = p
	} else if pe := (*fs.PathError)(nil); errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) {
		// A dangling symlink: write where it points.
		target = pe.Path
	}
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, filepath.Base(target)+".tmp*")
	if err != nil {
		return fmt.Errorf("write Docker config: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write Docker config %s: %w", f.path, err)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if st, serr := os.Stat(target); serr == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			if err := tmp.Chown(int(sys.Uid), int(sys.Gid)); err != nil {
				return err
			}
		}
	}
	if _, err := tmp.Write(b); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
