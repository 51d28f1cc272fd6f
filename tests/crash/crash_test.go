// Package crash_test is the crash suite: it kills `soulbox server` with
// SIGKILL at random points of create, kill, pause, resume and timeout,
// restarts it, and checks what a user relies on after a crash: every
// sandbox is running, paused or ended with a reason; the REST API, the
// store and the runtime agree on which are live; what the server
// acknowledged before the crash is still true after it; running
// sandboxes answer; and nothing is left of the others (processes, mounts,
// cgroups, loop devices, uid ranges, files).
//
// SOULBOX_CRASH_ROUNDS sets the number of rounds (default 50),
// SOULBOX_CRASH_SEED replays a run.
package crash_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/testutil"
	"github.com/soulbox/soulbox/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

func envInt(t *testing.T, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// ack is what the server acknowledged about a sandbox before a crash.
type ack struct {
	op string // create, kill, pause, resume
	at int    // round
}

type run struct {
	t     *testing.T
	srv   *harness.Server
	st    store.Store
	rng   *rand.Rand
	acked map[string]ack           // the last acknowledged change of each sandbox
	took  map[string]time.Duration // how long each operation takes, smoothed
	cut   int
	// reported are the problems already reported.
	reported map[string]bool
}

func TestCrashRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a real server many times")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "runc")
	rounds := int(envInt(t, "SOULBOX_CRASH_ROUNDS", 50))
	seed := envInt(t, "SOULBOX_CRASH_SEED", time.Now().UnixNano())
	t.Logf("%d rounds, SOULBOX_CRASH_SEED=%d", rounds, seed)

	srv := harness.New(t, harness.Options{})
	r := &run{t: t, srv: srv, st: srv.Store(), rng: rand.New(rand.NewPCG(uint64(seed), 0)), acked: map[string]ack{}, took: map[string]time.Duration{}, reported: map[string]bool{}}
	start := time.Now()
	ops := map[string]int{}
	for round := 1; round <= rounds; round++ {
		op := r.round(round)
		ops[op]++
		r.check(round, op)
	}
	t.Logf("%d rounds in %v: %v; %d operations cut by the crash, %d acknowledged before it",
		rounds, time.Since(start).Round(time.Second), ops, r.cut, rounds-r.cut)
	// The last restart, then a clean stop: all sandboxes go.
	live := r.live()
	for id := range live {
		_ = srv.Client.Kill(context.Background(), id)
	}
	srv.Stop()
	if l := append(srv.Leftovers(nil), srv.ProcessesUnder(nil)...); len(l) > 0 {
		t.Errorf("left after every sandbox was killed:\n%s", strings.Join(l, "\n"))
	}
}

// live returns the running and paused sandboxes as the API lists them.
func (r *run) live() map[string]string {
	list, err := r.srv.Client.List(context.Background(), client.ListOptions{})
	if err != nil {
		r.t.Fatalf("list: %v", err)
	}
	out := map[string]string{}
	for _, sb := range list {
		out[sb.SandboxID] = sb.State
	}
	return out
}

// pick returns a live sandbox in state, or "".
func (r *run) pick(live map[string]string, state string) string {
	var ids []string
	for id, s := range live {
		if s == state {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	sort.Strings(ids)
	return ids[r.rng.IntN(len(ids))]
}

// round runs one operation and kills the server at a random moment of
// it, then starts the server again. It returns the operation's name.
func (r *run) round(round int) string {
	ctx := context.Background()
	c := r.srv.Client
	live := r.live()
	op := []string{"create", "create", "kill", "kill", "pause", "pause", "resume", "resume", "timeout"}[r.rng.IntN(9)]
	if len(live) >= 4 {
		op = "kill"
	}
	if op == "kill" || op == "pause" || op == "resume" {
		// Keep sandboxes to act on: a running one made outside the crash
		// window, and paused too for a resume.
		if len(live) == 0 {
			r.setup(round, "")
		}
		if op == "resume" && r.pick(live, "paused") == "" {
			r.setup(round, "pause")
		}
		live = r.live()
	}
	target := ""
	switch op {
	case "kill":
		if target = r.pick(live, "running"); target == "" {
			target = r.pick(live, "paused")
		}
	case "pause":
		target = r.pick(live, "running")
	case "resume":
		target = r.pick(live, "paused")
	}
	if op != "create" && op != "timeout" && target == "" {
		op = "create"
	}

	// The crash window: as long as the operation has taken here so far,
	// so that most crashes land inside it (an operation that finishes
	// early is acknowledged, and its durability checked instead).
	window := 300 * time.Millisecond
	if d, ok := r.took[op]; ok {
		window = max(d, 5*time.Millisecond)
	}
	if op == "timeout" {
		// A sandbox that times out 1 s after its create; the crash comes
		// around the moment its timer fires.
		sb, err := c.Create(ctx, client.CreateOptions{Template: "base", Timeout: time.Second})
		if err != nil {
			r.t.Fatalf("round %d: create for timeout: %v; server log:\n%s", round, err, tail(r.srv.Log(), 40))
		}
		r.srv.Observe(sb.SandboxID)
		r.acked[sb.SandboxID] = ack{"create", round}
		target = sb.SandboxID
		window = 1500 * time.Millisecond
	}

	done := make(chan error, 1)
	var created string
	began := time.Now()
	var took time.Duration // set before done is sent
	go func() {
		var err error
		switch op {
		case "create":
			var sb client.Sandbox
			sb, err = c.Create(ctx, client.CreateOptions{Template: "base", Timeout: 30 * time.Minute})
			if err == nil {
				created = sb.SandboxID
				r.srv.Observe(created)
			}
		case "kill":
			err = c.Kill(ctx, target)
		case "pause":
			err = c.Pause(ctx, target)
		case "resume":
			_, err = c.Resume(ctx, target, 30*time.Minute)
		case "timeout":
			err = nil
		}
		took = time.Since(began)
		done <- err
	}()
	delay := time.Duration(r.rng.Int64N(int64(window)))
	time.Sleep(delay)
	r.srv.Kill()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		r.t.Fatalf("round %d: %s did not return within 30s of the crash", round, op)
	}
	outcome := "acknowledged"
	if err != nil {
		r.cut++
		outcome = "cut: " + shortErr(err)
		if _, ok := r.acked[target]; ok {
			// Either outcome of a cut operation is right; the record
			// must still exist.
			r.acked[target] = ack{"create", round}
		}
	} else if op != "timeout" {
		if took < delay { // finished before the crash: a full measure
			r.took[op] = (r.took[op] + took) / 2
			if r.took[op] == took/2 {
				r.took[op] = took
			}
		}
		id := target
		if op == "create" {
			id = created
		}
		r.acked[id] = ack{op, round}
	}
	r.t.Logf("round %d: %s %s, crash after %v: %s", round, op, target+created, delay.Round(time.Millisecond), outcome)
	r.srv.Start()
	return op
}

// setup creates a sandbox, and pauses it if then is "pause", with no
// crash: the targets of the operations that are crashed.
func (r *run) setup(round int, then string) {
	ctx := context.Background()
	sb, err := r.srv.Client.Create(ctx, client.CreateOptions{Template: "base", Timeout: 30 * time.Minute})
	if err != nil {
		r.t.Fatalf("round %d: create: %v; server log:\n%s", round, err, tail(r.srv.Log(), 40))
	}
	r.srv.Observe(sb.SandboxID)
	r.acked[sb.SandboxID] = ack{"create", round}
	if then == "pause" {
		if err := r.srv.Client.Pause(ctx, sb.SandboxID); err != nil {
			r.t.Fatalf("round %d: pause: %v; server log:\n%s", round, err, tail(r.srv.Log(), 40))
		}
		r.acked[sb.SandboxID] = ack{"pause", round}
	}
}

func shortErr(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Error()
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[len(s)-80:]
	}
	return s
}

// check verifies the invariants after a restart. A timer that fires
// during the check may move a sandbox on, so the views are compared
// until they agree, for a few seconds.
func (r *run) check(round int, op string) {
	r.t.Helper()
	var problems []string
	for try := 0; try < 10; try++ {
		if problems = r.problems(); len(problems) == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	// A problem is reported in the round it appears; a leftover stays
	// until something removes it and is not reported again.
	fresh := 0
	for _, p := range problems {
		if !r.reported[p] {
			r.reported[p] = true
			fresh++
			r.t.Errorf("round %d (%s): %s", round, op, p)
		}
	}
	if fresh > 0 {
		r.t.Logf("server log:\n%s", tail(r.srv.Log(), 40))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (r *run) problems() []string {
	ctx := context.Background()
	var out []string
	all, err := r.st.ListSandboxes(ctx, store.SandboxFilter{})
	if err != nil {
		return []string{"store: " + err.Error()}
	}
	storeLive := map[string]string{}
	records := map[string]store.Sandbox{}
	for _, sb := range all {
		records[sb.ID] = sb
		switch sb.State {
		case store.StateRunning, store.StatePaused:
			storeLive[sb.ID] = string(sb.State)
		case store.StateEnded:
			if !sb.EndReason.Valid() {
				out = append(out, fmt.Sprintf("sandbox %s ended without a reason (%q)", sb.ID, sb.EndReason))
			}
		default:
			out = append(out, fmt.Sprintf("sandbox %s is %s after the restart", sb.ID, sb.State))
		}
	}
	apiLive := r.live()
	if !mapsEqual(storeLive, apiLive) {
		out = append(out, fmt.Sprintf("the store's live sandboxes %v differ from the API's %v", storeLive, apiLive))
	}
	list, err := r.srv.Driver().List(ctx)
	if err != nil {
		return append(out, "runtime list: "+err.Error())
	}
	rtLive := map[string]string{}
	for _, info := range list {
		rtLive[info.ID] = string(info.Status)
		if storeLive[info.ID] == "paused" && (info.Status == runtime.StatusStopped || info.Status == runtime.StatusCreated) {
			// Paused to disk: its processes are checkpointed or gone.
			rtLive[info.ID] = string(runtime.StatusPaused)
		}
	}
	want := map[string]string{}
	for id, s := range storeLive {
		want[id] = map[string]string{"running": string(runtime.StatusRunning), "paused": string(runtime.StatusPaused)}[s]
	}
	if !mapsEqual(want, rtLive) {
		out = append(out, fmt.Sprintf("the runtime's sandboxes %v differ from the store's live ones %v", rtLive, storeLive))
	}
	// What was acknowledged holds.
	for id, a := range r.acked {
		sb, ok := records[id]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s of %s acknowledged in round %d, but the store has no record", a.op, id, a.at))
		case a.op == "kill" && (sb.State != store.StateEnded || sb.EndReason != store.ReasonKilled):
			out = append(out, fmt.Sprintf("kill of %s acknowledged in round %d, but it is %s (%s)", id, a.at, sb.State, sb.EndReason))
		case a.op == "pause" && sb.State != store.StatePaused && !(sb.State == store.StateEnded && (sb.EndReason == store.ReasonKilled || sb.EndReason == store.ReasonTimeout)):
			out = append(out, fmt.Sprintf("pause of %s acknowledged in round %d, but it is %s (%s %s)", id, a.at, sb.State, sb.EndReason, sb.EndMessage))
		case a.op == "resume" && sb.State != store.StateRunning && sb.State != store.StateEnded:
			out = append(out, fmt.Sprintf("resume of %s acknowledged in round %d, but it is %s", id, a.at, sb.State))
		}
	}
	liveSet := map[string]bool{}
	for id := range storeLive {
		liveSet[id] = true
		r.srv.Observe(id)
	}
	out = append(out, r.srv.Leftovers(liveSet)...)
	out = append(out, r.srv.ProcessesUnder(liveSet)...)
	// Running sandboxes answer through the restarted server.
	for id, s := range storeLive {
		if s != "running" {
			continue
		}
		sb, err := r.srv.Client.Get(ctx, id)
		if err != nil {
			out = append(out, fmt.Sprintf("get running %s: %v", id, err))
			continue
		}
		if o := r.srv.Run(sb, "user", "echo ok", 30*time.Second); o.Err != nil || o.Code != 0 {
			out = append(out, fmt.Sprintf("running sandbox %s does not run a command: %v %d %s", id, o.Err, o.Code, o.Text))
		}
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
