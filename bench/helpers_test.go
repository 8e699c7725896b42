package bench

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// program returns the path of one of the project's programs: from $NPS_BIN_DIR when make
// has built them (make bench, make test), else built here.
func program(b testing.TB, name string) string {
	if dir := os.Getenv("NPS_BIN_DIR"); dir != "" {
		path, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			b.Fatalf("NPS_BIN_DIR: %v", err)
		}
		return path
	}
	out := filepath.Join(b.TempDir(), name)
	cmd := exec.Command("go", "build", "-tags", "migrated_fynedo,sqlite_fts5", "-o", out, "github.com/npskiosk/npskiosk/cmd/"+name)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", name, err, msg)
	}
	return out
}

// percentile of sorted durations, p in [0, 1].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

func sortedCopy(d []time.Duration) []time.Duration {
	out := slices.Clone(d)
	slices.Sort(out)
	return out
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat: 100 on Linux.
const clockTicks = 100

// procTree is a process and its descendants as /proc shows them now.
func procTree(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// statFields are the fields of /proc/<pid>/stat after the command name: state is [0],
// ppid [1], utime [11], stime [12].
func statFields(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// cpuTime is the user and system CPU time used so far by the processes of a tree.
func cpuTime(tree []int) time.Duration {
	var ticks int64
	for _, pid := range tree {
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// memory is the resident set and the proportional set (shared pages split between the
// processes sharing them) of a process tree, in bytes.
func memory(tree []int) (rss, pss int64) {
	for _, pid := range tree {
		f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			fields := strings.Fields(v)
			if len(fields) == 0 {
				continue
			}
			kb, _ := strconv.ParseInt(fields[0], 10, 64)
			switch k {
			case "Rss":
				rss += kb << 10
			case "Pss":
				pss += kb << 10
			}
		}
		f.Close()
	}
	return rss, pss
}
