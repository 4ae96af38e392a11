package progress

import (
	"strings"
	"testing"
	"time"

	"github.com/gorae/gorae/solver"
)

// TestTargetNames: a target's Printer shows its steps on the shared one
// named as buildx bake names them, its output and messages included, so
// two targets' "[base 1/2]" steps are two blocks.
func TestTargetNames(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	app, db := p.Target("app"), p.Target("db")
	app.Event(ev(c, "[base 1/2] FROM busybox", solver.Cached, 0))
	db.Event(ev(c, "[base 1/2] FROM busybox", solver.Cached, 0))
	app.Event(ev(c, "[2/2] RUN make", solver.Started, 0))
	write(app, "[2/2] RUN make", "compiled\n")
	c.add(100 * time.Millisecond)
	app.Event(ev(c, "[2/2] RUN make", solver.Done, 100*time.Millisecond))
	s := db.Step("exporting to image")
	s.End(nil)
	db.Logf("built %s", "sha256:x")
	db.Target("other").Logf("nested views name the outer target only")
	app.Close() // a no-op: p is still open
	p.Close()
	out := buf.String()
	for _, want := range []string{
		"[app base 1/2] FROM busybox", "[db base 1/2] FROM busybox",
		"[app 2/2] RUN make", "compiled", "[db] exporting to image",
		"[db] built sha256:x", "[other] nested views",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "FROM busybox") != 2 {
		t.Errorf("want two FROM blocks:\n%s", out)
	}
}

// TestTargetMessagesStayHome: a target's message goes in its own open
// Step's block, not in another target's opened after it.
func TestTargetMessagesStayHome(t *testing.T) {
	c := newClock()
	p, buf := newPlain(c)
	app, db := p.Target("app"), p.Target("db")
	sa := app.Step("exporting to image")
	sd := db.Step("exporting to image")
	app.Logf("naming to app:1")
	db.Logf("naming to db:1")
	sa.End(nil)
	sd.End(nil)
	app.Logf("built app")
	p.Close()
	out := buf.String()
	for _, want := range []string{
		"#1 [app] exporting to image\n#1 [app] naming to app:1\n",
		"#2 [db] exporting to image\n#2 [db] naming to db:1\n",
		"\n[app] built app\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
