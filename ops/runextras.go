package ops

import (
	"fmt"
	"strings"

	"github.com/gorae/gorae/runner"
)

// sandboxExtras converts the step's --add-host and --ulimit values for
// the runner.
func (o *runOp) sandboxExtras() ([]runner.HostIP, []runner.Ulimit, error) {
	var hosts []runner.HostIP
	for _, h := range o.op.ExtraHosts {
		name, ip, ok := strings.Cut(h, "=")
		if !ok {
			return nil, nil, fmt.Errorf("%s: invalid extra host %q: use HOST=IP", o.where(), h)
		}
		hosts = append(hosts, runner.HostIP{Host: name, IP: ip})
	}
	var limits []runner.Ulimit
	for _, u := range o.op.Ulimits {
		l, err := runner.ParseUlimit(u)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", o.where(), err)
		}
		limits = append(limits, l)
	}
	return hosts, limits, nil
}
