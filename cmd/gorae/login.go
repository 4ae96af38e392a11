package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sys/unix"

	"github.com/gorae/gorae/dockerconfig"
	"github.com/gorae/gorae/registry"
)

func runLogin(ctx context.Context, args []string) error {
	fs := newFlags("login", "[OPTIONS] [SERVER]")
	user := fs.StringP("username", "u", "", "username")
	password := fs.StringP("password", "p", "", `password or token ("-" reads it from stdin; prefer --password-stdin)`)
	stdin := fs.Bool("password-stdin", false, "read the password or token from stdin")
	insecure := fs.StringArray("insecure-registry", nil, "talk plain HTTP to this registry host[:port]")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("login takes at most one registry, e.g. gorae login registry.example.com:5000")
	}
	if *stdin || *password == "-" {
		if fs.Changed("password") && *password != "-" {
			return usagef("login: --password and --password-stdin both given: use one")
		}
		if *user == "" {
			return usagef("login: --password-stdin needs --username")
		}
	}
	if fs.Changed("username") && *user == "" {
		return usagef("login: --username is empty")
	}
	if fs.Changed("password") && *password == "" {
		return usagef("login: --password is empty")
	}
	if *password != "" && *password != "-" {
		fmt.Fprintln(os.Stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	if *stdin || *password == "-" {
		p, err := readSecret(os.Stdin)
		if err != nil {
			return fmt.Errorf("read the password from stdin: %w", err)
		}
		if strings.TrimSpace(p) == "" {
			return errors.New("login: the password read from stdin is empty")
		}
		*password = p
	}
	server := dockerconfig.ServerOf(fs.Arg(0))
	path, err := dockerconfig.Path()
	if err != nil {
		return err
	}
	cfg, err := dockerconfig.Load(path)
	if err != nil {
		return err
	}
	ro := registry.Options{Insecure: *insecure}
	if *user == "" && *password == "" {
		// As docker login: credentials already stored that still work
		// need no prompt.
		if u, p, ok := storedLogin(server); ok {
			fmt.Fprintf(os.Stderr, "Authenticating with existing credentials... [Username: %s]\n", u)
			if err := ro.CheckLogin(ctx, server.Host, u, p); err == nil {
				fmt.Println("Login Succeeded")
				return nil
			}
			fmt.Fprintln(os.Stderr, "Stored credentials invalid or expired")
		}
	}
	if *user == "" || *password == "" {
		if !isTerminal(os.Stdin) {
			return fmt.Errorf("login to %s: no terminal to ask for the username and password: use -u USER --password-stdin (and pipe the password in)", server.Key)
		}
		*user, *password, err = prompt(*user)
		if err != nil {
			return err
		}
	}
	if err := ro.CheckLogin(ctx, server.Host, *user, *password); err != nil {
		return err
	}
	plain, err := cfg.Store(server, *user, *password)
	if err != nil {
		return err
	}
	if plain {
		fmt.Fprintf(os.Stderr, "WARNING! Your credentials are stored unencrypted in '%s'.\n"+
			"Configure a credential helper (credsStore in that file) to remove this warning.\n", cfg.Path())
	}
	fmt.Println("Login Succeeded")
	return nil
}

// storedLogin returns the username and password stored for server, read
// as every registry access reads them (authn.DefaultKeychain).
func storedLogin(server dockerconfig.Server) (user, password string, ok bool) {
	host := server.Host
	if server.Hub() {
		host = name.DefaultRegistry
	}
	reg, err := name.NewRegistry(host)
	if err != nil {
		return "", "", false
	}
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		return "", "", false
	}
	c, err := a.Authorization()
	if err != nil || c.Username == "" || c.Password == "" {
		return "", "", false
	}
	return c.Username, c.Password, true
}

// readSecret reads all of r and drops one trailing line end, as docker
// login --password-stdin does.
func readSecret(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	for _, eol := range []string{"\r\n", "\n", "\r"} {
		var ok bool
		if b, ok = bytes.CutSuffix(b, []byte(eol)); ok {
			break
		}
	}
	return string(b), nil
}

// prompt asks on the terminal for what is missing: the username (unless
// given) and the password, without echo.
func prompt(user string) (string, string, error) {
	in := bufio.NewReader(os.Stdin)
	if user == "" {
		fmt.Print("Username: ")
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return "", "", fmt.Errorf("read the username: %w", err)
		}
		user = strings.TrimSpace(line)
		if user == "" {
			return "", "", errors.New("login: a username is required")
		}
	}
	fmt.Print("Password: ")
	fd := int(os.Stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", "", err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ECHONL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", "", err
	}
	line, err := in.ReadString('\n')
	unix.IoctlSetTermios(fd, unix.TCSETS, old)
	if err != nil && line == "" {
		return "", "", fmt.Errorf("read the password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", "", errors.New("login: a password is required")
	}
	return user, password, nil
}

func runLogout(ctx context.Context, args []string) error {
	fs := newFlags("logout", "[SERVER]")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("logout takes at most one registry, e.g. gorae logout registry.example.com:5000")
	}
	server := dockerconfig.ServerOf(fs.Arg(0))
	path, err := dockerconfig.Path()
	if err != nil {
		return err
	}
	cfg, err := dockerconfig.Load(path)
	if err != nil {
		return err
	}
	// As docker logout: also the spellings older clients stored.
	keys := []string{server.Key}
	if !server.Hub() {
		if arg := fs.Arg(0); arg != server.Key {
			keys = append([]string{arg}, keys...)
		}
		keys = append(keys, "http://"+server.Key, "https://"+server.Key)
	}
	fmt.Println("Removing login credentials for", server.Key)
	var errs []error
	for _, k := range keys {
		if _, err := cfg.Erase(k); err != nil {
			errs = append(errs, err)
		}
	}
	// One erased spelling is success; a helper that stored nothing under
	// the others says so, as docker's does.
	if len(errs) == len(keys) {
		fmt.Fprintln(os.Stderr, "WARNING: could not erase credentials:")
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, " ", e)
		}
	}
	return nil
}
