package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// SecureRegistry is a docker-registry that demands TLS and a password,
// as a private registry in a company does.
type SecureRegistry struct {
	// Host is "NAME:PORT", NAME being this machine's host name, which
	// resolves to a loopback address but is not one of the loopback
	// names gorae speaks plain HTTP to, so TLS is required.
	Host string
	// CA is the PEM certificate of the authority that signed the
	// registry's certificate; no system trust store knows it.
	CA []byte
	// User and Password are the one account of its htpasswd file.
	User, Password string
}

// StartSecureRegistry starts docker-registry with htpasswd (bcrypt)
// authentication for user and password, and TLS with a certificate made
// here, signed by a fresh CA. It skips the test if htpasswd is missing
// (make deps installs apache2-utils) or the host name does not resolve
// to loopback.
func StartSecureRegistry(t testing.TB, user, password string) *SecureRegistry {
	t.Helper()
	htpasswd, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Skip("htpasswd is not installed (make deps installs apache2-utils)")
	}
	name := loopbackName(t)
	dir := t.TempDir()
	ca, cert, key := makeCerts(t, name)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "htpasswd")
	out, err := exec.Command(htpasswd, "-Bbn", user, password).Output()
	if err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	if err := os.WriteFile(pwFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	extra := fmt.Sprintf(`auth:
  htpasswd:
    realm: gorae-test
    path: %s
`, pwFile)
	tls := fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", certFile, keyFile)
	startRegistry(t, addr, extra, tls, "https://"+addr)
	return &SecureRegistry{Host: name + ":" + port, CA: ca, User: user, Password: password}
}

// loopbackName returns this machine's host name if it resolves to
// loopback addresses only (Debian's /etc/hosts maps it to 127.0.1.1).
func loopbackName(t testing.TB) string {
	t.Helper()
	name, err := os.Hostname()
	if err != nil || name == "localhost" {
		t.Skipf("no host name other than localhost (%v)", err)
	}
	addrs, err := net.LookupHost(name)
	if err != nil || len(addrs) == 0 {
		t.Skipf("host name %s does not resolve: %v", name, err)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			t.Skipf("host name %s resolves to %s, not loopback", name, a)
		}
	}
	return name
}

// makeCerts returns a CA certificate and a server certificate with its
// key for name and 127.0.0.1, signed by that CA, all PEM.
func makeCerts(t testing.TB, name string) (ca, cert, key []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gorae test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caTmpl, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
