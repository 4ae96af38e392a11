package kubejob

import (
	"bufio"
	"context"
	"os/exec"
	"sync"
	"time"
)

// followGrace is how long a finished Job's log stream may take to end
// by itself before it is stopped.
const followGrace = 2 * time.Second

// follower relays a Job's log to Options.Log while the Job runs, so a
// long build shows its steps as they happen.
type follower struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	lines  int // relayed so far
}

// follow starts relaying the Job's log lines: `kubectl logs --follow
// job/NAME`, started again (every second) while its pod has not started,
// until the stream ends with the pod or stop is called. nil when no Log
// is set.
func (b *Builder) follow(ctx context.Context, target, name string) *follower {
	if b.o.Log == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			ok := b.stream(ctx, name, func(line string) {
				f.mu.Lock()
				f.lines++
				f.mu.Unlock()
				b.log(target, line)
			})
			if ok {
				return // the stream ended with the container
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return f
}

// stop waits up to followGrace for the stream to end, then stops it, and
// returns how many lines it relayed.
func (f *follower) stop() int {
	if f == nil {
		return 0
	}
	select {
	case <-f.done:
	case <-time.After(followGrace):
		f.cancel()
		<-f.done
	}
	f.cancel()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lines
}

// stream runs `kubectl logs --follow job/NAME`, calling line for each line,
// and reports whether it ended by itself (the container ended); false
// when kubectl failed (no pod running yet) or ctx ended.
func (b *Builder) stream(ctx context.Context, name string, line func(string)) bool {
	args := append(append([]string(nil), b.k.global...), "logs", "--follow", "job/"+name)
	if b.k.namespace != "" {
		args = append(args, "--namespace="+b.k.namespace)
	}
	cmd := exec.CommandContext(ctx, b.k.bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line(sc.Text())
	}
	return cmd.Wait() == nil && ctx.Err() == nil
}
