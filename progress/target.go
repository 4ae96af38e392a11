package progress

import "strings"

// Target returns a Printer that shows everything of one target of `gorae
// bake` on p, its steps named as buildx bake names them: "[app base 2/3]
// RUN …" for "[base 2/3] RUN …", "[app internal] load metadata …", and
// "[app] exporting to image" for a step without brackets. Messages start
// with "[app] ". Closing it does nothing; close p.
func (p *Printer) Target(name string) *Printer {
	if p == nil {
		return nil
	}
	if p.parent != nil {
		p = p.parent
	}
	return &Printer{parent: p, prefix: name, mode: p.mode}
}

// rename is a step's name on the parent Printer.
func (p *Printer) rename(step string) string {
	if rest, ok := strings.CutPrefix(step, "["); ok {
		return "[" + p.prefix + " " + rest
	}
	return "[" + p.prefix + "] " + step
}
