// Package registry holds what gorae needs to talk to OCI registries
// correctly: Docker-compatible name normalization, the choice between TLS and
// plain HTTP per host, the go-containerregistry remote options every caller
// should use (context, credentials from the Docker keychain, retries of
// transient failures, upload concurrency, user agent), and translation of
// transport errors into messages a user can act on.
//
// registry is level 0: it imports only the standard library and
// go-containerregistry, never another gorae package.
//
// Plain HTTP is used only for loopback registries (localhost, 127.0.0.0/8,
// ::1) and for hosts listed in Options.Insecure. go-containerregistry on its
// own also falls back to plain HTTP for RFC 1918 addresses; the transport
// built by Options.Remote refuses that, as Docker does, so a private address
// needs TLS or an explicit --insecure-registry.
package registry
