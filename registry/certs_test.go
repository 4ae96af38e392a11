package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// testCA signs certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for usage, valid for 127.0.0.1.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestCertsD: a registry with a private CA that demands a client
// certificate is reached through certs.d/HOST:PORT/{ca.crt,client.cert,
// client.key}, as Docker reads them; without them the error says where
// the CA goes.
func TestCertsD(t *testing.T) {
	ca := newCA(t)
	srvCert, srvKey := ca.issue(t, x509.ExtKeyUsageServerAuth)
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK) // /v2/: no auth needed beyond the certificate
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	certsD := t.TempDir()
	t.Setenv(CertsDirEnv, certsD)
	// Loopback registries may also be spoken to over plain HTTP; a
	// host given as insecure would mask TLS errors, so use none.
	o := Options{Keychain: authn.NewMultiKeychain()}

	err = o.CheckLogin(context.Background(), host, "u", "p")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(certsD, host, "ca.crt")) {
		t.Fatalf("without the CA: %v", err)
	}

	dir := filepath.Join(certsD, host)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "ca.crt"), ca.pem, 0o644)
	err = o.CheckLogin(context.Background(), host, "u", "p")
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("with the CA, without a client certificate: %v", err)
	}

	cliCert, cliKey := ca.issue(t, x509.ExtKeyUsageClientAuth)
	os.WriteFile(filepath.Join(dir, "client.key"), cliKey, 0o600)
	err = o.CheckLogin(context.Background(), host, "u", "p")
	if err == nil || !strings.Contains(err.Error(), "missing client certificate client.cert") {
		t.Fatalf("a key without its certificate: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "client.cert"), cliCert, 0o644)
	if err := o.CheckLogin(context.Background(), host, "u", "p"); err != nil {
		t.Fatalf("with the CA and a client certificate: %v", err)
	}
}
