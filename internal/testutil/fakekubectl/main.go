// Command fakekubectl is a kubectl for tests of `gorae bake
// --kubernetes` (package kubejob): it implements exactly the
// subcommands kubejob runs, keeping its state in $FAKE_KUBECTL_DIR:
//
//	create -f -                          record the Job (jobs/NAME.json) and start its pod
//	get job NAME -o json                 the Job's status: active, succeeded or failed
//	get pods -l job-name=NAME -o json    the pod, with the container's termination message
//	get nodes -o json                    a fixed list of nodes
//	logs job/NAME [--tail=N] [--follow]  the pod's output (--follow: until the pod ends)
//	delete job NAME [--wait=false]       stop the pod, forget the Job
//
// A pod is the Job's container run as a local process: the gorae binary
// $FAKE_KUBECTL_GORAE instead of the image's entrypoint, with the
// container's env, GORAE_ROOT a fresh directory (each pod has a root of
// its own, as on an empty node), and the container's
// terminationMessagePath mapped to a file. Every call is appended to
// calls.log.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	dir := os.Getenv("FAKE_KUBECTL_DIR")
	if dir == "" {
		fail("FAKE_KUBECTL_DIR is not set")
	}
	s := &state{dir: dir}
	args := os.Args[1:]
	if len(args) == 2 && args[0] == "__pod" {
		s.runPod(args[1])
		return
	}
	s.logCall(args)
	pos, flags := parse(args)
	switch {
	case len(pos) == 1 && pos[0] == "create" && flags["f"] == "-":
		s.create()
	case len(pos) == 3 && pos[0] == "get" && pos[1] == "job" && flags["o"] == "json":
		s.getJob(pos[2])
	case len(pos) == 2 && pos[0] == "get" && pos[1] == "pods" && strings.HasPrefix(flags["l"], "job-name=") && flags["o"] == "json":
		s.getPods(strings.TrimPrefix(flags["l"], "job-name="))
	case len(pos) == 2 && pos[0] == "get" && pos[1] == "nodes" && flags["o"] == "json":
		s.getNodes()
	case len(pos) == 2 && pos[0] == "logs" && strings.HasPrefix(pos[1], "job/"):
		if flags["follow"] == "true" {
			s.follow(strings.TrimPrefix(pos[1], "job/"))
		} else {
			s.logs(strings.TrimPrefix(pos[1], "job/"), flags["tail"])
		}
	case len(pos) == 3 && pos[0] == "delete" && pos[1] == "job":
		s.deleteJob(pos[2])
	default:
		fail(fmt.Sprintf("fakekubectl does not implement %q", strings.Join(args, " ")))
	}
}

// parse splits args into positional words and flags (-f X, --tail=N,
// -o json, --namespace=NS).
func parse(args []string) ([]string, map[string]string) {
	var pos []string
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		k := strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(k, "="); ok {
			flags[k] = v
			continue
		}
		if i+1 < len(args) && (k == "f" || k == "o" || k == "l" || k == "n" || k == "namespace") {
			flags[k] = args[i+1]
			i++
			continue
		}
		flags[k] = "true"
	}
	return pos, flags
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "error: "+msg)
	os.Exit(1)
}

type state struct{ dir string }

func (s *state) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

func (s *state) logCall(args []string) {
	f, err := os.OpenFile(s.path("calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fail(err.Error())
	}
	defer f.Close()
	fmt.Fprintln(f, strings.Join(args, " "))
}

// job is the part of a batch/v1 Job the fake reads.
type job struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Template struct {
			Spec struct {
				Affinity *struct {
					NodeAffinity struct {
						Preferred []struct {
							Weight     int `json:"weight"`
							Preference struct {
								MatchExpressions []struct {
									Key    string   `json:"key"`
									Values []string `json:"values"`
								} `json:"matchExpressions"`
							} `json:"preference"`
						} `json:"preferredDuringSchedulingIgnoredDuringExecution"`
					} `json:"nodeAffinity"`
				} `json:"affinity"`
				Containers []struct {
					Name    string   `json:"name"`
					Image   string   `json:"image"`
					Command []string `json:"command"`
					Args    []string `json:"args"`
					Env     []struct {
						Name  string `json:"name"`
						Value string `json:"value"`
					} `json:"env"`
					TerminationMessagePath string `json:"terminationMessagePath"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

func (s *state) readJob(name string) job {
	b, err := os.ReadFile(s.path("jobs", name+".json"))
	if err != nil || exists(s.path("pods", name, "deleted")) {
		fail(fmt.Sprintf("jobs.batch %q not found", name))
	}
	var j job
	if err := json.Unmarshal(b, &j); err != nil {
		fail(err.Error())
	}
	return j
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func (s *state) create() {
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err.Error())
	}
	var j job
	if err := json.Unmarshal(b, &j); err != nil {
		fail("error validating data: " + err.Error())
	}
	name := j.Metadata.Name
	if name == "" || len(j.Spec.Template.Spec.Containers) != 1 {
		fail("the fake runs Jobs with a name and exactly one container")
	}
	if err := os.MkdirAll(s.path("jobs"), 0o755); err != nil {
		fail(err.Error())
	}
	if exists(s.path("jobs", name+".json")) {
		fail(fmt.Sprintf("jobs.batch %q already exists", name))
	}
	if err := os.WriteFile(s.path("jobs", name+".json"), b, 0o644); err != nil {
		fail(err.Error())
	}
	if err := os.MkdirAll(s.path("pods", name), 0o755); err != nil {
		fail(err.Error())
	}
	if unpullable(j) {
		// Its image cannot be pulled: the pod waits forever, as a real
		// one in ImagePullBackOff does.
		fmt.Printf("job.batch/%s created\n", name)
		return
	}
	self, err := os.Executable()
	if err != nil {
		fail(err.Error())
	}
	// The pod outlives this kubectl call, as a real one does: a session
	// of its own, no inherited output.
	cmd := exec.Command(self, "__pod", name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fail(err.Error())
	}
	if err := os.WriteFile(s.path("pods", name, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		fail(err.Error())
	}
	cmd.Process.Release()
	fmt.Printf("job.batch/%s created\n", name)
}

// runPod runs the Job's container and records its exit.
func (s *state) runPod(name string) {
	// A stop (delete job) signals the whole session: this process
	// outlives gorae to record how it ended. Caught, not ignored, so
	// gorae does not inherit SIG_IGN.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	j := s.readJob(name)
	c := j.Spec.Template.Spec.Containers[0]
	pod := s.path("pods", name)
	os.WriteFile(filepath.Join(pod, "node"), []byte(node(j)), 0o644)
	gorae := os.Getenv("FAKE_KUBECTL_GORAE")
	argv := append(append([]string(nil), c.Command...), c.Args...)
	if len(c.Command) == 0 || filepath.Base(c.Command[0]) == "gorae" {
		argv = append([]string{gorae}, c.Args...)
	}
	term := c.TerminationMessagePath
	if term == "" {
		term = "/dev/termination-log"
	}
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, term, filepath.Join(pod, "termination-log"))
	}
	root := filepath.Join(pod, "root")
	env := os.Environ()
	for _, e := range c.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	env = append(env, "GORAE_ROOT="+root)
	logf, err := os.Create(filepath.Join(pod, "log"))
	if err != nil {
		fail(err.Error())
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, pod, logf, logf
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(logf, err)
			code = 128
		} else if code = ee.ExitCode(); code < 0 {
			code = 137 // killed by a signal
		}
	}
	logf.Close()
	// The node's disk goes with the pod.
	os.RemoveAll(root)
	os.WriteFile(filepath.Join(pod, "exit.tmp"), []byte(strconv.Itoa(code)), 0o644)
	os.Rename(filepath.Join(pod, "exit.tmp"), filepath.Join(pod, "exit"))
}

// node is where the scheduler would put the pod: the preferred node of
// highest weight, else the first node.
func node(j job) string {
	best, w := nodes[0], -1
	if a := j.Spec.Template.Spec.Affinity; a != nil {
		for _, p := range a.NodeAffinity.Preferred {
			for _, m := range p.Preference.MatchExpressions {
				if m.Key == "kubernetes.io/hostname" && len(m.Values) > 0 && p.Weight > w {
					best, w = m.Values[0], p.Weight
				}
			}
		}
	}
	return best
}

// exit is the pod's exit code, or -1 while it runs.
func (s *state) exit(name string) int {
	b, err := os.ReadFile(s.path("pods", name, "exit"))
	if err != nil {
		return -1
	}
	n, _ := strconv.Atoi(string(b))
	return n
}

// unpullable says the Job's image is one the fake cluster cannot pull:
// any image whose name contains "unpullable".
func unpullable(j job) bool {
	return strings.Contains(j.Spec.Template.Spec.Containers[0].Image, "unpullable")
}

func (s *state) getJob(name string) {
	s.readJob(name)
	st := map[string]any{}
	switch code := s.exit(name); {
	case code < 0:
		st["active"] = 1
	case code == 0:
		st["succeeded"] = 1
		st["conditions"] = []any{map[string]any{"type": "Complete", "status": "True"}}
	default:
		st["failed"] = 1
		st["conditions"] = []any{map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}}
	}
	printJSON(map[string]any{"kind": "Job", "metadata": map[string]any{"name": name}, "status": st})
}

func (s *state) getPods(name string) {
	var items []any
	if exists(s.path("jobs", name+".json")) && !exists(s.path("pods", name, "deleted")) {
		j := s.readJob(name)
		state := map[string]any{"running": map[string]any{}}
		if unpullable(j) {
			state = map[string]any{"waiting": map[string]any{"reason": "ImagePullBackOff",
				"message": fmt.Sprintf("Back-off pulling image %q", j.Spec.Template.Spec.Containers[0].Image)}}
		}
		if code := s.exit(name); code >= 0 {
			msg, _ := os.ReadFile(s.path("pods", name, "termination-log"))
			reason := "Completed"
			if code != 0 {
				reason = "Error"
			}
			state = map[string]any{"terminated": map[string]any{"exitCode": code, "reason": reason, "message": string(msg)}}
		}
		nodeName, _ := os.ReadFile(s.path("pods", name, "node"))
		items = append(items, map[string]any{
			"metadata": map[string]any{"name": name + "-pod", "labels": map[string]any{"job-name": name}},
			"spec":     map[string]any{"nodeName": string(nodeName)},
			"status": map[string]any{"containerStatuses": []any{
				map[string]any{"name": j.Spec.Template.Spec.Containers[0].Name, "state": state},
			}},
		})
	}
	printJSON(map[string]any{"kind": "List", "items": items})
}

// nodes are the fake cluster's schedulable nodes; getNodes adds one
// cordoned and one not ready, which Jobs must not prefer.
var nodes = []string{"node-a", "node-b", "node-c"}

func (s *state) getNodes() {
	var items []any
	add := func(name string, unschedulable bool, ready string) {
		items = append(items, map[string]any{
			"metadata": map[string]any{"name": name, "labels": map[string]any{"kubernetes.io/hostname": name}},
			"spec":     map[string]any{"unschedulable": unschedulable},
			"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": ready}}},
		})
	}
	for _, n := range nodes {
		add(n, false, "True")
	}
	add("node-cordoned", true, "True")
	add("node-down", false, "False")
	printJSON(map[string]any{"kind": "List", "items": items})
}

func (s *state) logs(name, tail string) {
	s.readJob(name)
	b, _ := os.ReadFile(s.path("pods", name, "log"))
	if tail != "" {
		n, err := strconv.Atoi(tail)
		if err != nil {
			fail("invalid --tail " + tail)
		}
		lines := strings.SplitAfter(string(b), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if n >= 0 && len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		b = []byte(strings.Join(lines, ""))
	}
	os.Stdout.Write(b)
}

// follow prints the pod's log as it grows until the pod ends (or is
// deleted), as `kubectl logs --follow` does; a pod that cannot start is
// an error, as a real one waiting to start is.
func (s *state) follow(name string) {
	j := s.readJob(name)
	if unpullable(j) {
		fail(fmt.Sprintf("container %q in pod %q is waiting to start: trying and failing to pull image", j.Spec.Template.Spec.Containers[0].Name, name+"-pod"))
	}
	var off int64
	for {
		ended := s.exit(name) >= 0 || exists(s.path("pods", name, "deleted"))
		if f, err := os.Open(s.path("pods", name, "log")); err == nil {
			f.Seek(off, io.SeekStart)
			n, _ := io.Copy(os.Stdout, f)
			off += n
			f.Close()
		}
		if ended {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deleteJob stops a running pod (SIGTERM to its session, as the kubelet
// stops a container) and forgets the Job.
func (s *state) deleteJob(name string) {
	s.readJob(name)
	if s.exit(name) < 0 {
		if b, err := os.ReadFile(s.path("pods", name, "pid")); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				syscall.Kill(-pid, syscall.SIGTERM)
			}
		}
	}
	os.WriteFile(s.path("pods", name, "deleted"), nil, 0o644)
	fmt.Printf("job.batch %q deleted\n", name)
}

func printJSON(v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fail(err.Error())
	}
	os.Stdout.Write(append(b, '\n'))
}
