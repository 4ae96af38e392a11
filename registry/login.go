package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrBadCredentials marks a login the registry refused.
var ErrBadCredentials = errors.New("wrong username or password")

// CheckLogin asks the registry at host ("host[:port]") whether user and
// password are valid, as docker login does: the /v2/ challenge, a token
// for the credentials if the registry hands out tokens, then /v2/ again
// with them. A refusal is ErrBadCredentials; other failures (the
// registry is down, its TLS certificate is unknown) are explained.
func (o Options) CheckLogin(ctx context.Context, host, user, password string) error {
	var opts []name.Option
	if o.plainHTTP(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, append(opts, name.StrictValidation)...)
	if err != nil {
		return fmt.Errorf("invalid registry %q: %v; give a host name with an optional port, e.g. registry.example.com:5000", host, err)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	rt, err := transport.NewWithContext(ctx, reg, auth, transport.NewUserAgent(o.transport(), UserAgent), nil)
	if err != nil {
		return o.loginError(err, host, user)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return o.loginError(err, host, user)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return o.loginError(err, host, user)
	}
	return nil
}

func (o Options) loginError(err error, host, user string) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("log in to %s as %s: %w (HTTP %d): check the username and password; nothing was saved",
			host, user, ErrBadCredentials, te.StatusCode)
	}
	if msg := explainNet(err, host); msg != "" {
		return &explained{msg: "log in to " + host + ": " + msg, err: err}
	}
	return fmt.Errorf("log in to %s: %w", host, err)
}
