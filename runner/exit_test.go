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

func TestSeccompJumpsStayInProgram(t *testing.T) {
	f := seccompFilter()
	for i, ins := range f {
		if ins.Code&0x07 == 0x05 && (i+1+int(ins.Jt) >= len(f) || i+1+int(ins.Jf) >= len(f)) {
			t.Errorf("instruction %d jumps past the end", i)
		}
	}
	if last := f[len(f)-1]; last.Code != retK || last.K != retAllow {
		t.Errorf("last instruction %+v, want ret ALLOW", last)
	}
}
