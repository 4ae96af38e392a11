package runner

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// HostIP is one --add-host entry: a line "IP\tHost" of /etc/hosts.
type HostIP struct {
	Host string
	IP   string
}

// hostsFile is the /etc/hosts BuildKit gives a RUN with extra hosts: the
// loopback names with the sandbox's host name, then the entries in order.
func hostsFile(hostname string, hosts []HostIP) string {
	var b strings.Builder
	fmt.Fprintf(&b, "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname)
	for _, h := range hosts {
		fmt.Fprintf(&b, "%s\t%s\n", h.IP, h.Host)
	}
	return b.String()
}

// writeHosts writes the sandbox's /etc/hosts to a temporary file of the
// host, which the init binds read-only over the rootfs' /etc/hosts. The
// returned cleanup removes it.
func writeHosts(hostname string, hosts []HostIP) (string, func(), error) {
	for _, h := range hosts {
		if h.Host == "" || strings.ContainsAny(h.Host, " \t\n") || net.ParseIP(h.IP) == nil {
			return "", nil, fmt.Errorf("run: invalid extra host %q=%q: use NAME and an IP address", h.Host, h.IP)
		}
	}
	f, err := os.CreateTemp("", "gorae-hosts-")
	if err != nil {
		return "", nil, fmt.Errorf("write /etc/hosts for the sandbox: %w", err)
	}
	cleanup := func() { os.Remove(f.Name()) }
	_, err = f.WriteString(hostsFile(hostname, hosts))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("write /etc/hosts for the sandbox: %w", err)
	}
	return f.Name(), cleanup, nil
}
