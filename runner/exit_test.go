package runner

import (
	"errors"
	"os/exec"
	"testing"
)

func TestExitErrorFromSignal(t *testing.T) {
	err := exitError(exec.Command("/bin/sh", "-c", "kill -KILL $$").Run())
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 137 || ee.Signal != "KILL" || err.Error() != "killed by signal KILL" {
		t.Errorf("err = %#v", err)
	}
	err = exitError(exec.Command("/bin/sh", "-c", "exit 2").Run())
	if !errors.As(err, &ee) || ee.Code != 2 || err.Error() != "exit code 2" {
		t.Errorf("err = %#v", err)
	}
	if err := exitError(nil); err != nil {
		t.Errorf("exitError(nil) = %v", err)
	}
}
