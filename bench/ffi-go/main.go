// Command ffi-go is the `ffi` workload of BENCHMARK.md with the steps in Go: seq10 on 3 Go
// processes, each embedding one node through libraftoral.so (cgo), the driver inside the first.
//
// seq10: input n; 10 sequential CheckpointCompute steps, step i returns previous + i; the
// result is n + 55; a unique workflow id per run. Closed loop: C client goroutines in the
// driver each start a workflow, wait for its result, check it and start the next. Latency is
// start-to-result, counted for workflows that start after the warm-up and end before the
// measurement does. Every row gets a fresh cluster with its Raft logs in a new temporary
// directory (on disk, fsync on), as the Java load generator does (bench/README.md).
//
//	cd bench/ffi-go && go run . --clients 1,32
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	raftoral "github.com/raftoral/raftoral-go"
)

// jvmOptions are those of the Java node processes of `bench/run --mode processes`.
var jvmOptions = []string{"-Xmx1g"}

func seq10(ctx *raftoral.Context, n int) (int, error) {
	value := n
	for i := 1; i <= 10; i++ {
		previous := value
		var err error
		value, err = raftoral.CheckpointCompute(ctx, "step", func() (int, error) { return previous + i, nil })
		if err != nil {
			return 0, err
		}
	}
	return value, nil
}

// nodeConfig is what a serving process gets on its command line.
type nodeConfig struct {
	NodeID  uint64            `json:"node_id"`
	Members map[uint64]string `json:"members"`
	DataDir string            `json:"data_dir"`
}

func openNode(cfg nodeConfig) (*raftoral.Node, error) {
	node, err := raftoral.NewNode(raftoral.Config{NodeID: cfg.NodeID, Members: cfg.Members, DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	if err := raftoral.RegisterTyped(node, "seq10", 1, seq10); err != nil {
		node.Close()
		return nil, err
	}
	if err := node.Open(); err != nil {
		node.Close()
		return nil, err
	}
	return node, nil
}

// serve is a non-driver node process: open, say ready, run until stdin closes.
func serve(config string) error {
	var cfg nodeConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		return err
	}
	node, err := openNode(cfg)
	if err != nil {
		return err
	}
	defer node.Close()
	fmt.Printf("ready %d\n", cfg.NodeID)
	_, err = io.Copy(io.Discard, os.Stdin) // until the driver closes it
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cpuSeconds is the user + system CPU time of a process.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

func rssMB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(len(sorted)-1, max(0, i))]
}

// Row is one line of the report (BENCHMARK.md's template).
type Row struct {
	Workload   string  `json:"workload"`
	Nodes      int     `json:"nodes"`
	Mode       string  `json:"mode"`
	Clients    int     `json:"clients"`
	Completed  int     `json:"completed"`
	WfPerS     float64 `json:"wf_per_s"`
	StepsPerS  float64 `json:"steps_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P90Ms      float64 `json:"p90_ms"`
	P99Ms      float64 `json:"p99_ms"`
	CPUPercent float64 `json:"cpu_percent"`
	RSSMB      float64 `json:"rss_mb"`
	Errors     int     `json:"errors"`
}

func runRow(clients int, warmup, seconds time.Duration) (Row, error) {
	const nodes = 3
	root, err := os.MkdirTemp("", "raftoral-ffi-go-bench-")
	if err != nil {
		return Row{}, err
	}
	defer os.RemoveAll(root)
	members := map[uint64]string{}
	for id := uint64(1); id <= nodes; id++ {
		port, err := freePort()
		if err != nil {
			return Row{}, err
		}
		members[id] = fmt.Sprintf("127.0.0.1:%d", port)
	}
	self, err := os.Executable()
	if err != nil {
		return Row{}, err
	}
	var children []*exec.Cmd
	var stdins []io.WriteCloser
	var ready []*bufio.Reader
	defer func() {
		for _, c := range children {
			c.Process.Kill() // only left when the row failed; Wait below otherwise
			c.Wait()
		}
	}()
	for id := uint64(2); id <= nodes; id++ {
		cfg, _ := json.Marshal(nodeConfig{NodeID: id, Members: members, DataDir: filepath.Join(root, fmt.Sprintf("node-%d", id))})
		cmd := exec.Command(self, "--serve", string(cfg))
		log, err := os.Create(filepath.Join(root, fmt.Sprintf("node-%d.log", id)))
		if err != nil {
			return Row{}, err
		}
		defer log.Close()
		cmd.Stderr = log
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return Row{}, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return Row{}, err
		}
		if err := cmd.Start(); err != nil {
			return Row{}, err
		}
		children = append(children, cmd)
		stdins = append(stdins, stdin)
		ready = append(ready, bufio.NewReader(stdout))
	}
	// This process is node 1; the bootstrap returns once a majority is up.
	node, err := openNode(nodeConfig{NodeID: 1, Members: members, DataDir: filepath.Join(root, "node-1")})
	if err != nil {
		return Row{}, err
	}
	for i, r := range ready {
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready ") {
			node.Close()
			tail, _ := os.ReadFile(filepath.Join(root, fmt.Sprintf("node-%d.log", i+2)))
			return Row{}, fmt.Errorf("node %d failed: %v\n%s", i+2, err, tail)
		}
	}
	pids := []int{os.Getpid()}
	for _, c := range children {
		pids = append(pids, c.Process.Pid)
	}
	row := closedLoop(node, clients, warmup, seconds, pids)
	row.Nodes = nodes
	node.Close()
	for _, in := range stdins {
		in.Close() // the node processes close their nodes and shut down
	}
	for _, c := range children {
		if err := c.Wait(); err != nil {
			fmt.Fprintf(os.Stderr, "node process %d: %v\n", c.Process.Pid, err)
		}
	}
	children = nil
	return row, nil
}

func closedLoop(node *raftoral.Node, clients int, warmup, seconds time.Duration, pids []int) Row {
	start := time.Now()
	measureFrom, measureUntil := start.Add(warmup), start.Add(warmup+seconds)
	latencies := make([][]time.Duration, clients)
	errs := make([]int, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := c * 1_000_000
			for {
				began := time.Now()
				if !began.Before(measureUntil) {
					return
				}
				n++
				if err := oneRun(node, n); err != nil {
					errs[c]++
					if errs[c] <= 3 {
						fmt.Fprintf(os.Stderr, "client %d: %v\n", c, err)
					}
					continue
				}
				ended := time.Now()
				if !began.Before(measureFrom) && !ended.After(measureUntil) {
					latencies[c] = append(latencies[c], ended.Sub(began))
				}
			}
		}()
	}
	time.Sleep(time.Until(measureFrom))
	cpuBefore := make([]float64, len(pids))
	for i, p := range pids {
		cpuBefore[i] = cpuSeconds(p)
	}
	time.Sleep(time.Until(measureUntil))
	var cpu, rss float64
	for i, p := range pids {
		cpu += cpuSeconds(p) - cpuBefore[i]
		rss += rssMB(p)
	}
	wg.Wait()
	var all []time.Duration
	errors := 0
	for c := range clients {
		all = append(all, latencies[c]...)
		errors += errs[c]
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	secs := seconds.Seconds()
	return Row{
		Workload: "seq10", Mode: "go-ffi-processes", Clients: clients, Completed: len(all),
		WfPerS: round1(float64(len(all)) / secs), StepsPerS: round1(float64(len(all)) * 10 / secs),
		P50Ms: ms(percentile(all, 50)), P90Ms: ms(percentile(all, 90)), P99Ms: ms(percentile(all, 99)),
		CPUPercent: round1(cpu / secs * 100), RSSMB: round1(rss), Errors: errors,
	}
}

func oneRun(node *raftoral.Node, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := raftoral.StartTyped(ctx, node, "seq10", 1, n)
	if err != nil {
		return err
	}
	result, err := raftoral.ResultAs[int](ctx, h)
	if err != nil {
		return err
	}
	if result != n+55 {
		return fmt.Errorf("seq10(%d) = %d", n, result)
	}
	return nil
}

func round1(x float64) float64 {
	return float64(int64(x*10+0.5)) / 10
}

func run() error {
	clientsFlag := flag.String("clients", "1,32", "concurrent clients per row, e.g. 1,8,32")
	warmup := flag.Duration("warmup", 10*time.Second, "warm-up per row")
	seconds := flag.Duration("seconds", 20*time.Second, "measured time per row")
	asJSON := flag.Bool("json", false, "print one JSON object per row")
	serveConfig := flag.String("serve", "", "run as a non-driver node process with this JSON config (internal)")
	flag.Parse()
	if err := raftoral.Init(raftoral.InitOptions{JVMOptions: jvmOptions}); err != nil {
		return err
	}
	if *serveConfig != "" {
		return serve(*serveConfig)
	}
	header := "| workload | nodes | mode | C | wf/s | steps/s | p50 ms | p90 ms | p99 ms | CPU % | RSS MB | errors |"
	if !*asJSON {
		fmt.Println(header)
		fmt.Println("|" + strings.Repeat("---|", strings.Count(header, "|")-1))
	}
	for _, c := range strings.Split(*clientsFlag, ",") {
		clients, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || clients < 1 {
			return fmt.Errorf("bad --clients entry %q", c)
		}
		row, err := runRow(clients, *warmup, *seconds)
		if err != nil {
			return err
		}
		if *asJSON {
			js, _ := json.Marshal(row)
			fmt.Println(string(js))
		} else {
			fmt.Printf("| %s | %d | %s | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f | %.0f | %d |\n", row.Workload, row.Nodes,
				row.Mode, row.Clients, row.WfPerS, row.StepsPerS, row.P50Ms, row.P90Ms, row.P99Ms, row.CPUPercent, row.RSSMB, row.Errors)
		}
	}
	return nil
}

func main() {
	err := run()
	if serr := raftoral.Shutdown(); err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ffi-go:", err)
		os.Exit(1)
	}
}
