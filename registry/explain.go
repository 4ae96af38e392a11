package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Explain turns an error from a registry operation on ref into one
// paragraph that says what happened and what to do: missing credentials,
// denied access, unknown image, rate limits, a registry that is not
// running, TLS problems. The original error stays reachable through
// errors.Is and errors.As. Errors it does not recognize come back
// unchanged; nil stays nil.
func Explain(err error, ref string) error {
	if err == nil {
		return nil
	}
	reg := display(ref)
	if msg := explainStatus(err, ref, reg); msg != "" {
		return &explained{msg: msg, err: err}
	}
	if msg := explainNet(err, reg); msg != "" {
		return &explained{msg: msg, err: err}
	}
	return err
}

// explained is a user-facing message over the error it explains.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

func explainStatus(err error, ref, reg string) string {
	var te *transport.Error
	if !errors.As(err, &te) {
		return ""
	}
	code := func(c transport.ErrorCode) bool {
		for _, d := range te.Errors {
			if d.Code == c {
				return true
			}
		}
		return false
	}
	switch {
	case te.StatusCode == http.StatusUnauthorized || code(transport.UnauthorizedErrorCode):
		return fmt.Sprintf("registry %s refused access to %s: authentication required (HTTP 401). "+
			"Log in with gorae login %s (or docker login) or check the credentials in ~/.docker/config.json and its credential helpers.", reg, ref, reg)
	case te.StatusCode == http.StatusForbidden || code(transport.DeniedErrorCode):
		return fmt.Sprintf("registry %s denied access to %s (HTTP 403): the credentials in use do not grant this access. "+
			"Check that the repository exists and that your account may read or push it; log in with docker login %s as a user who may.", reg, ref, reg)
	case te.StatusCode == http.StatusNotFound || code(transport.ManifestUnknownErrorCode) || code(transport.NameUnknownErrorCode):
		return fmt.Sprintf("image %s not found in registry %s: check the repository name and tag, "+
			"and that you are logged in if the repository is private (a registry may answer 404 instead of 401).", ref, reg)
	case te.StatusCode == http.StatusTooManyRequests || code(transport.TooManyRequestsErrorCode):
		return fmt.Sprintf("registry %s is rate-limiting requests for %s (HTTP 429): wait and retry, "+
			"log in with docker login %s for a higher limit, or use a mirror.", reg, ref, reg)
	}
	return ""
}

func explainNet(err error, reg string) string {
	var (
		unknownCA x509.UnknownAuthorityError
		badHost   x509.HostnameError
		badCert   x509.CertificateInvalidError
		record    tls.RecordHeaderError
		dns       *net.DNSError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot connect to registry %s: connection refused. "+
			"Is the registry running? For a registry that serves plain HTTP, use --insecure-registry %s.", reg, reg)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("registry %s answered a TLS request with plain HTTP. "+
			"If it really serves plain HTTP, use --insecure-registry %s.", reg, reg)
	case errors.As(err, &unknownCA):
		return fmt.Sprintf("cannot verify the TLS certificate of registry %s: it is signed by an unknown authority (%v). "+
			"Put the CA certificate in %s/%s/ca.crt (Docker's certs.d convention), install it in the system trust store, "+
			"or for a plain-HTTP registry use --insecure-registry %s.", reg, err, CertsDirs()[0], reg, reg)
	case errors.As(err, &badHost):
		return fmt.Sprintf("the TLS certificate of registry %s is not valid for that name (%v): use the host name the certificate was issued for.", reg, err)
	case errors.As(err, &badCert):
		return fmt.Sprintf("the TLS certificate of registry %s is invalid (%v): renew it, or check the clock of this machine.", reg, err)
	case errors.As(err, &record):
		return fmt.Sprintf("registry %s does not speak TLS on this port (%v). "+
			"If it serves plain HTTP, use --insecure-registry %s.", reg, err, reg)
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve registry host %s (%v): check the image name and your DNS or network settings.", reg, dns)
	}
	return ""
}
