package ops

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/gorae/gorae/graph"
	"github.com/gorae/gorae/runner"
)

// ssh forwards the host agent named by the mount's id into the sandbox:
// gorae listens on a socket of its own, bind-mounted at the target, and
// relays each connection to the agent.
func (o *runOp) ssh(ctx context.Context, s *session, m graph.Mount, n int, private func() (string, error)) error {
	agentSock, ok := o.env.SSH[m.ID]
	if !ok {
		if m.Required {
			return fmt.Errorf("%s: ssh agent %s is required but was not given: pass --ssh %s=SOCKET (or --ssh default for $SSH_AUTH_SOCK)", o.where(), m.ID, m.ID)
		}
		return nil
	}
	target := m.Target
	if target == "" {
		target = "/run/buildkit/ssh_agent." + strconv.Itoa(n)
	}
	uid, gid, mode, err := mountOwner(m, 0o600)
	if err != nil {
		return fmt.Errorf("%s: --mount=type=ssh,id=%s: %w", o.where(), m.ID, err)
	}
	dir, err := private()
	if err != nil {
		return err
	}
	sock := filepath.Join(dir, "ssh-"+strconv.Itoa(n)+".sock")
	p, err := listenAgent(ctx, sock, agentSock)
	if err != nil {
		return fmt.Errorf("%s: forward ssh agent %s: %w", o.where(), m.ID, err)
	}
	s.undo = append(s.undo, p.close)
	if err := os.Chown(sock, uid, gid); err != nil {
		return fmt.Errorf("%s: forward ssh agent %s: %w", o.where(), m.ID, err)
	}
	if err := os.Chmod(sock, mode); err != nil {
		return fmt.Errorf("%s: forward ssh agent %s: %w", o.where(), m.ID, err)
	}
	s.mounts = append(s.mounts, runner.Mount{Type: "bind", Source: sock, Target: target, Options: []string{"rw"}})
	if !hasAgentEnv(s.env) {
		// As BuildKit: the first ssh mount is the default agent.
		s.env = append(s.env, "SSH_AUTH_SOCK="+target)
	}
	return nil
}

func hasAgentEnv(env []string) bool {
	for _, e := range env {
		if len(e) > 14 && e[:14] == "SSH_AUTH_SOCK=" {
			return true
		}
	}
	return false
}

// agentProxy relays connections from a socket the sandbox sees to the
// user's ssh agent, one goroutine per connection, until close.
type agentProxy struct {
	ln    net.Listener
	agent string
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func listenAgent(ctx context.Context, sock, agent string) (*agentProxy, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	p := &agentProxy{ln: ln, agent: agent, ctx: ctx, stop: stop, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *agentProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Go(func() {
			defer p.untrack(c)
			var d net.Dialer
			a, err := d.DialContext(p.ctx, "unix", p.agent)
			if err != nil {
				return // the client sees the connection close, as with a dead agent
			}
			if !p.track(a) {
				a.Close()
				return
			}
			defer p.untrack(a)
			relayAgent(c, a)
		})
	}
}

// track registers a connection for close; false once closing.
func (p *agentProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *agentProxy) untrack(c net.Conn) {
	c.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// close stops listening, cuts every open connection and waits for the
// relays: nothing outlives the RUN.
func (p *agentProxy) close() {
	p.stop()
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// Agent protocol (draft-miller-ssh-agent): each message is a uint32
// length and that many bytes, the first being the type.
const (
	agentFailure     = 5
	agentRequestIDs  = 11
	agentSignRequest = 13
	agentMaxMessage  = 256 << 10 // OpenSSH's own limit
)

// relayAgent passes requests from the sandbox to the agent one at a time
// and their answers back. Like BuildKit, the build may only list keys and
// sign with them: adding, removing or locking keys and extensions are
// refused with SSH_AGENT_FAILURE without reaching the agent, so a RUN can
// never change the user's agent.
func relayAgent(client, agent io.ReadWriter) {
	failure := []byte{0, 0, 0, 1, agentFailure}
	for {
		req, err := readAgentMsg(client)
		if err != nil {
			return
		}
		if req[4] != agentRequestIDs && req[4] != agentSignRequest {
			if _, err := client.Write(failure); err != nil {
				return
			}
			continue
		}
		if _, err := agent.Write(req); err != nil {
			return
		}
		resp, err := readAgentMsg(agent)
		if err != nil {
			return
		}
		if _, err := client.Write(resp); err != nil {
			return
		}
	}
}

// readAgentMsg reads one framed message, length prefix included.
func readAgentMsg(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > agentMaxMessage {
		return nil, fmt.Errorf("agent message of %d bytes", n)
	}
	msg := make([]byte, 4+n)
	copy(msg, hdr[:])
	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}
