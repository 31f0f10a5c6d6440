package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Machine is what the report says about where it ran.
type Machine struct {
	CPU    string
	Cores  int
	Memory string // total RAM, "" if unknown
	OS     string // distribution, kernel, GOOS/GOARCH
	GPU    string // "" if none seen
}

func (m Machine) String() string {
	s := fmt.Sprintf("%s, %d cores", m.CPU, m.Cores)
	if m.Memory != "" {
		s += ", " + m.Memory + " RAM"
	}
	if m.GPU != "" {
		s += ", GPU " + m.GPU
	}
	return s + "; " + m.OS
}

// ThisMachine describes the machine it runs on, from /proc and
// /etc/os-release where they exist.
func ThisMachine() Machine {
	m := Machine{CPU: runtime.GOARCH, Cores: runtime.NumCPU()}
	if v := field("/proc/cpuinfo", "model name", ":"); v != "" {
		m.CPU = v
	}
	if v := field("/proc/meminfo", "MemTotal", ":"); v != "" {
		var kib int64
		if _, err := fmt.Sscanf(v, "%d kB", &kib); err == nil {
			m.Memory = fmt.Sprintf("%.0f GiB", float64(kib)/(1<<20))
		}
	}
	osName := runtime.GOOS
	if v := field("/etc/os-release", "PRETTY_NAME", "="); v != "" {
		osName = strings.Trim(v, `"`)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		osName += ", kernel " + strings.TrimSpace(string(b))
	}
	m.OS = osName + ", " + runtime.GOOS + "/" + runtime.GOARCH
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "nvidia-smi", "--query-gpu=name", "--format=csv,noheader").Output(); err == nil {
		m.GPU = strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "; ")), " ")
	}
	return m
}

// field returns the value of the first line "key<sep>value" in a file.
func field(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
