package runner

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Console is a pseudo-terminal for a command run with a tty (gorae run
// -t). Process.Tty takes Slave: the command gets it as stdin, stdout,
// stderr and controlling terminal, and sees it at /dev/console. The caller
// writes the command's input to Master and reads its output from there;
// once the command is done and Slave is closed, reads of Master return the
// rest of the output and then an error (EIO).
type Console struct {
	Master *os.File
	Slave  *os.File
}

// NewConsole opens a new pseudo-terminal pair on the host's /dev/ptmx.
func NewConsole() (*Console, error) {
	// Non-blocking, so that Master goes through the runtime poller and a
	// Close ends a pending Read.
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open pseudo-terminal /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(mfd)
		return nil, fmt.Errorf("unlock pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(mfd)
		return nil, fmt.Errorf("find pseudo-terminal slave: %w", err)
	}
	name := "/dev/pts/" + strconv.Itoa(n)
	// Blocking: the command inherits the open file description as is.
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(mfd)
		return nil, fmt.Errorf("open pseudo-terminal slave %s: %w", name, err)
	}
	return &Console{Master: os.NewFile(uintptr(mfd), "/dev/ptmx"), Slave: os.NewFile(uintptr(sfd), name)}, nil
}

// Resize sets the terminal's window size, as a terminal emulator does
// when its window changes; the command gets SIGWINCH.
func (c *Console) Resize(rows, cols uint16) error {
	conn, err := c.Master.SyscallConn()
	if err != nil {
		return fmt.Errorf("resize pseudo-terminal: %w", err)
	}
	var ierr error
	err = conn.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	})
	if err == nil {
		err = ierr
	}
	if err != nil {
		return fmt.Errorf("resize pseudo-terminal: %w", err)
	}
	return nil
}

// Close closes both ends; closing one already closed is no error.
func (c *Console) Close() error {
	c.Slave.Close()
	c.Master.Close()
	return nil
}

// bindConsole bind-mounts the init's stdin (the pseudo-terminal slave)
// at /dev/console inside rootfs, as Docker does for -t, so that the
// command finds its terminal under /dev even though the slave lives in
// the host's devpts.
func bindConsole(rootfs string) error {
	// By path: the open file belongs to a mount of the parent's
	// namespace, which the kernel refuses as a bind source (EINVAL); the
	// same path in our copy of that namespace is fine.
	slave, err := os.Readlink("/proc/self/fd/0")
	if err != nil {
		return fmt.Errorf("find the terminal: %w", err)
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return fmt.Errorf("open root file system: %w", err)
	}
	defer root.Close()
	return bindIn(root, slave, "dev/console", false, false)
}
