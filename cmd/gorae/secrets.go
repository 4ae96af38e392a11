package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxSecretSize bounds a secret, as BuildKit does (500 KiB): secrets are
// held in memory and meant for tokens and keys, not data.
const maxSecretSize = 500 << 10

// parseSecrets reads the --secret flags as buildx does:
// id=ID[,type=file|env][,src=PATH|source=PATH][,env=VAR]. A src makes it a
// file secret, env= an environment one; with only an id the environment
// variable of that name is used. Values are read now, into memory.
func parseSecrets(specs []string, lookupEnv func(string) (string, bool)) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, spec := range specs {
		id, val, err := parseSecret(spec, lookupEnv)
		if err != nil {
			return nil, err
		}
		if _, dup := out[id]; dup {
			return nil, usagef("--secret %s: id %q is given twice", spec, id)
		}
		out[id] = val
	}
	return out, nil
}

func parseSecret(spec string, lookupEnv func(string) (string, bool)) (string, []byte, error) {
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return "", nil, usagef("invalid --secret %q: %v", spec, err)
	}
	var id, typ, src, env string
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", nil, usagef("invalid --secret %q: field %q is not KEY=VALUE; use id=ID,src=FILE or id=ID,env=VAR", spec, f)
		}
		switch strings.ToLower(k) {
		case "id":
			id = v
		case "type":
			if v != "file" && v != "env" {
				return "", nil, usagef("invalid --secret %q: type must be file or env", spec)
			}
			typ = v
		case "src", "source":
			src = v
		case "env":
			env = v
		default:
			return "", nil, usagef("invalid --secret %q: unknown key %q (use id, type, src or env)", spec, k)
		}
	}
	if id == "" {
		return "", nil, usagef("invalid --secret %q: id= is required, e.g. --secret id=token,src=token.txt", spec)
	}
	if typ == "env" && env == "" {
		env, src = src, "" // buildx: type=env,src=VAR names the variable
	}
	if typ == "file" && src == "" && env == "" {
		src = id
	}
	switch {
	case src != "" && env != "":
		return "", nil, usagef("invalid --secret %q: give src= or env=, not both", spec)
	case src != "":
		val, err := readSecretFile(src)
		if err != nil {
			return "", nil, usagef("--secret id=%s: %v", id, err)
		}
		return id, val, nil
	}
	if env == "" {
		env = id
	}
	val, ok := lookupEnv(env)
	if !ok {
		return "", nil, usagef("--secret id=%s: environment variable %s is not set: set it, or pass id=%s,src=FILE", id, env, id)
	}
	if len(val) > maxSecretSize {
		return "", nil, usagef("--secret id=%s: value is larger than 500 KiB", id)
	}
	return id, []byte(val), nil
}

func readSecretFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("secret file %s is a directory", name)
	}
	val, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("read secret file %s: %w", name, err)
	}
	if len(val) > maxSecretSize {
		return nil, fmt.Errorf("secret file %s is larger than 500 KiB", name)
	}
	return val, nil
}

// parseSSH reads the --ssh flags: default|ID[=SOCKET]. A bare id (and
// "default") forwards $SSH_AUTH_SOCK. Only agent sockets are supported;
// BuildKit also accepts key files, which gorae would have to parse.
func parseSSH(specs []string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for _, spec := range specs {
		id, paths, _ := strings.Cut(spec, "=")
		if id == "" {
			return nil, usagef("invalid --ssh %q: use default, ID or ID=SOCKET", spec)
		}
		if _, dup := out[id]; dup {
			return nil, usagef("--ssh %s: id %q is given twice", spec, id)
		}
		var sock string
		switch list := strings.Split(paths, ","); {
		case paths == "":
			v, ok := lookupEnv("SSH_AUTH_SOCK")
			if !ok || v == "" {
				return nil, usagef("--ssh %s: SSH_AUTH_SOCK is not set: start an agent (eval $(ssh-agent); ssh-add) or pass --ssh %s=SOCKET", spec, id)
			}
			sock = v
		case len(list) > 1:
			return nil, usagef("--ssh %s: only one agent socket per id is supported", spec)
		default:
			sock = list[0]
		}
		fi, err := os.Stat(sock)
		if err != nil {
			return nil, usagef("--ssh %s: agent socket: %v", spec, err)
		}
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, usagef("--ssh %s: %s is not a socket: gorae forwards ssh agents only, not key files; load the key into an agent (eval $(ssh-agent); ssh-add %s) and pass --ssh %s", spec, sock, sock, id)
		}
		out[id] = sock
	}
	return out, nil
}
