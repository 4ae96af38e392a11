package rootless

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// idRange is one line of /etc/subuid or /etc/subgid: count ids from
// start.
type idRange struct {
	start, count int
}

// subIDs finds the first range of user (by name or numeric id) in file.
func subIDs(file, name string, id int) (idRange, bool, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return idRange{}, false, nil
	}
	if err != nil {
		return idRange{}, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) != 3 || (fields[0] != name && fields[0] != strconv.Itoa(id)) {
			continue
		}
		start, err1 := strconv.Atoi(fields[1])
		count, err2 := strconv.Atoi(fields[2])
		if err1 != nil || err2 != nil || start < 0 || count <= 0 {
			return idRange{}, false, fmt.Errorf("%s: invalid line %q", file, line)
		}
		return idRange{start, count}, true, nil
	}
	return idRange{}, false, sc.Err()
}

// maxSubIDs is how many subordinate ids gorae maps: 1–65536, as the
// issue of a typical /etc/subuid range and what images use.
const maxSubIDs = 65536

// mapArgs are newuidmap/newgidmap's arguments after the pid: container
// root is own, 1… is the range.
func mapArgs(own int, r idRange) []string {
	return []string{"0", strconv.Itoa(own), "1", "1", strconv.Itoa(r.start), strconv.Itoa(min(r.count, maxSubIDs))}
}
