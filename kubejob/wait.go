package kubejob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// firstPoll is the first wait between two reads of a Job's status.
const firstPoll = 200 * time.Millisecond

// statusReads is how many failed reads of a Job's status in a row give
// the Job up.
const statusReads = 5

// logTail is how many of a failed pod's last log lines an error shows.
const logTail = 20

type jobStatus struct {
	Status struct {
		Active     int `json:"active"`
		Succeeded  int `json:"succeeded"`
		Failed     int `json:"failed"`
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
	} `json:"status"`
}

// failure is why a Job failed, from its conditions ("" while it has
// not, or has not yet said so).
func (s jobStatus) failure() (string, bool) {
	for _, c := range s.Status.Conditions {
		if c.Type == "Failed" && c.Status == "True" {
			return strings.TrimSpace(c.Reason + ": " + c.Message), true
		}
	}
	if s.Status.Failed > 0 {
		return "", true
	}
	return "", false
}

type podList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			NodeName string `json:"nodeName"`
		} `json:"spec"`
		Status struct {
			ContainerStatuses []struct {
				Name  string `json:"name"`
				State struct {
					Waiting *struct {
						Reason  string `json:"reason"`
						Message string `json:"message"`
					} `json:"waiting"`
					Terminated *struct {
						ExitCode int    `json:"exitCode"`
						Reason   string `json:"reason"`
						Message  string `json:"message"`
					} `json:"terminated"`
				} `json:"state"`
			} `json:"containerStatuses"`
		} `json:"status"`
	} `json:"items"`
}

// terminated is the gorae container's termination in the Job's pod.
type terminated struct {
	pod, node, reason, message string
	exitCode                   int
}

// wait polls the Job until it succeeds or fails. When ctx ends first the
// Job is deleted (its pod with it) and ctx's cause returned.
func (b *Builder) wait(ctx context.Context, name string) (failed bool, why string, err error) {
	// A cached target's Job ends within seconds: poll fast at first,
	// then back off to Poll so long builds cost the API server little.
	every := min(firstPoll, b.o.Poll)
	misses := 0
	for {
		var s jobStatus
		if err := b.k.getJSON(ctx, &s, "job", name); err != nil {
			if ctx.Err() != nil {
				b.deleteJob(name)
				return false, "", context.Cause(ctx)
			}
			// One failed read (an API server restart, a timeout) is not
			// the build's failure: read again, as often as statusReads
			// allows, before giving the Job up.
			if misses++; misses >= statusReads {
				b.deleteJob(name)
				return false, "", fmt.Errorf("%w (read %d times in a row; the Job was deleted)", err, misses)
			}
			every = b.o.Poll
		}
		if s.Status.Succeeded > 0 {
			return false, "", nil
		}
		if why, ok := s.failure(); ok {
			return true, why, nil
		}
		if every >= b.o.Poll || every >= time.Second { // not on every early poll
			if stuck := b.stuck(ctx, name); stuck != "" {
				b.deleteJob(name)
				return false, "", fmt.Errorf("its pod cannot start: %s (the Job was deleted): check --kubernetes-image %s, and that the nodes can pull it (registry credentials, network)", stuck, b.o.Image)
			}
		}
		select {
		case <-ctx.Done():
			b.deleteJob(name)
			return false, "", context.Cause(ctx)
		case <-time.After(every):
		}
		every = min(2*every, b.o.Poll)
	}
}

// deleteJob removes a Job and, in the background, its pod. It runs on a
// context of its own: the build's is gone when a cancel asks for it.
func (b *Builder) deleteJob(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.k.run(ctx, nil, "delete", "job", name, "--wait=false"); err != nil {
		b.log("", "warning: "+err.Error()+" (delete it with kubectl delete job "+name+")")
	}
}

// stuckReasons are the reasons a container waits that no wait cures.
// ErrImagePull is not one: it turns into ImagePullBackOff when it lasts.
var stuckReasons = map[string]bool{
	"ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true,
	"CreateContainerConfigError": true,
}

// stuck is why the Job's gorae container can never start ("REASON:
// message"), "" when it can or the pods cannot be read.
func (b *Builder) stuck(ctx context.Context, name string) string {
	var l podList
	if err := b.k.getJSON(ctx, &l, "pods", "-l", "job-name="+name); err != nil {
		return ""
	}
	for _, p := range l.Items {
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; c.Name == "gorae" && w != nil && stuckReasons[w.Reason] {
				return strings.TrimSuffix(w.Reason+": "+w.Message, ": ")
			}
		}
	}
	return ""
}

// termination reads the gorae container's termination from the Job's
// pod.
func (b *Builder) termination(ctx context.Context, name string) (terminated, error) {
	var l podList
	if err := b.k.getJSON(ctx, &l, "pods", "-l", "job-name="+name); err != nil {
		return terminated{}, err
	}
	for _, p := range l.Items {
		for _, c := range p.Status.ContainerStatuses {
			if c.Name == "gorae" && c.State.Terminated != nil {
				t := c.State.Terminated
				return terminated{pod: p.Metadata.Name, node: p.Spec.NodeName, reason: t.Reason, message: t.Message, exitCode: t.ExitCode}, nil
			}
		}
	}
	return terminated{}, fmt.Errorf("Job %s finished but no pod of it has a terminated gorae container: kubectl describe job %s", name, name)
}

// logs returns the Job's pod's log lines: the last n, or all for n 0.
func (b *Builder) logs(ctx context.Context, name string, n int) ([]string, error) {
	args := []string{"logs", "job/" + name}
	if n > 0 {
		args = append(args, "--tail="+strconv.Itoa(n))
	}
	out, err := b.k.run(ctx, nil, args...)
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// metadata is what a Job's termination message (gorae's
// --metadata-file) says of its result.
type metadata struct {
	Digest   string `json:"containerimage.digest"`
	Executed *int   `json:"gorae.steps.executed"`
}

func parseMetadata(msg string) (metadata, error) {
	var m metadata
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		return m, fmt.Errorf("termination message is not gorae's --metadata-file JSON (%v): %.200q", err, msg)
	}
	if !strings.HasPrefix(m.Digest, "sha256:") {
		return m, errors.New("termination message has no containerimage.digest")
	}
	return m, nil
}
