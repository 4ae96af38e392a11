package dockerconfig

import (
	"net"
	"net/url"
	"strings"
)

// IndexServer is the key Docker stores Docker Hub credentials under.
const IndexServer = "https://index.docker.io/v1/"

// hubHost is where Docker checks Docker Hub logins.
const hubHost = "registry-1.docker.io"

// Server says where a login goes.
type Server struct {
	// Key is the config.json "auths" key and the credential helper's
	// server URL: IndexServer for Docker Hub, else "host[:port]".
	Key string
	// Host is the registry to check the credentials against.
	Host string
}

// Hub reports whether s is Docker Hub.
func (s Server) Hub() bool { return s.Key == IndexServer }

// ServerOf maps a login argument to its Server as docker login does: no
// argument, "docker.io" (and Docker Hub's other names) are Docker Hub;
// anything else is reduced to its host[:port] ("https://reg:5000/v2/"
// becomes "reg:5000").
func ServerOf(arg string) Server {
	switch strings.TrimSuffix(arg, "/") {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", strings.TrimSuffix(IndexServer, "/"),
		"https://docker.io", "https://index.docker.io", "https://registry-1.docker.io":
		return Server{Key: IndexServer, Host: hubHost}
	}
	h := hostname(arg)
	return Server{Key: h, Host: h}
}

// hostname is docker's credentials.ConvertToHostname: the host[:port] of
// a URL or of "host[:port]/path".
func hostname(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.Hostname() != "" {
			if u.Port() == "" {
				return u.Hostname()
			}
			return net.JoinHostPort(u.Hostname(), u.Port())
		}
		_, s, _ = strings.Cut(s, "://")
	}
	h, _, _ := strings.Cut(s, "/")
	return h
}
