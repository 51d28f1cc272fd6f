package template

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newTestStore returns a store over dir whose builds run build instead of
// debootstrap. A nil build fails the test if called.
func newTestStore(t *testing.T, dir string, build func(ctx context.Context, rootfs string) error) *Store {
	t.Helper()
	return newTestStoreSuite(t, dir, "", build)
}

func newTestStoreSuite(t *testing.T, dir, suite string, build func(ctx context.Context, rootfs string) error) *Store {
	t.Helper()
	s, err := New(dir, Options{
		Suite:    suite,
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
		Progress: t.Output(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if build == nil {
		build = func(context.Context, string) error {
			t.Error("unexpected build")
			return errors.New("unexpected build")
		}
	}
	s.build = build
	return s
}

// fakeBuild writes a marker file and counts its calls.
func fakeBuild(calls *atomic.Int32) func(ctx context.Context, rootfs string) error {
	return func(ctx context.Context, rootfs string) error {
		n := calls.Add(1)
		return os.WriteFile(filepath.Join(rootfs, "marker"), fmt.Appendf(nil, "build %d\n", n), 0o644)
	}
}

// assertDirEntries checks that dir holds exactly the names want.
func assertDirEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q; want %q", dir, got, want)
	}
}

func TestEnsureBuildsOnceAndCaches(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	ctx := t.Context()

	tpl, err := s.Ensure(ctx, "code-interpreter-v1")
	if err != nil {
		t.Fatal(err)
	}
	if !tpl.Built || tpl.Name != "base" || tpl.Version == "" || tpl.BuildID == "" || tpl.BuiltAt.IsZero() {
		t.Errorf("Ensure = %+v; want a built base", tpl)
	}
	want := filepath.Join(dir, "base", tpl.Version, "rootfs")
	if !slices.Equal(tpl.Layers, []string{want}) {
		t.Errorf("Layers = %q; want [%q]", tpl.Layers, want)
	}
	if _, err := os.Stat(filepath.Join(want, "marker")); err != nil {
		t.Error(err)
	}
	if tpl.SizeBytes <= 0 {
		t.Errorf("SizeBytes = %d; want > 0", tpl.SizeBytes)
	}
	assertDirEntries(t, dir, "base", "base.lock")
	assertDirEntries(t, filepath.Join(dir, "base"), manifestFile, tpl.Version)
	for _, p := range []string{dir, filepath.Join(dir, "base"), filepath.Join(dir, "base", tpl.Version), want} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s has mode %v; want 0755", p, fi.Mode().Perm())
		}
	}

	// Cached from now on, under either name and from a new store.
	layers, err := s.Layers(ctx, "base")
	if err != nil || !slices.Equal(layers, tpl.Layers) {
		t.Errorf("Layers(base) = %q, %v; want %q", layers, err, tpl.Layers)
	}
	s2 := newTestStore(t, dir, fakeBuild(&calls))
	tpl2, err := s2.Ensure(ctx, "base")
	if err != nil || tpl2.BuildID != tpl.BuildID {
		t.Errorf("second store Ensure = %+v, %v; want build %s", tpl2, err, tpl.BuildID)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("built %d times; want 1", n)
	}
}

func TestConcurrentEnsureCoalesces(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	slow := func(ctx context.Context, rootfs string) error {
		time.Sleep(100 * time.Millisecond)
		return fakeBuild(&calls)(ctx, rootfs)
	}
	// Two stores over one directory stand in for two processes: they share
	// nothing in memory, only the flock.
	stores := []*Store{newTestStore(t, dir, slow), newTestStore(t, dir, slow)}
	var wg sync.WaitGroup
	builds := make(chan string, 8)
	for i := range 8 {
		wg.Go(func() {
			tpl, err := stores[i%2].Ensure(t.Context(), "base")
			if err != nil {
				t.Error(err)
				return
			}
			builds <- tpl.BuildID
		})
	}
	wg.Wait()
	close(builds)
	if n := calls.Load(); n != 1 {
		t.Errorf("built %d times; want 1", n)
	}
	first := ""
	for id := range builds {
		if first == "" {
			first = id
		}
		if id != first {
			t.Errorf("callers got builds %s and %s; want one", first, id)
		}
	}
}

func TestFailedBuildDoesNotCount(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	fail := func(ctx context.Context, rootfs string) error {
		calls.Add(1)
		// Half a rootfs, then failure.
		if err := os.MkdirAll(filepath.Join(rootfs, "usr/bin"), 0o755); err != nil {
			return err
		}
		return errors.New("mirror exploded")
	}
	s := newTestStore(t, dir, fail)
	_, err := s.Ensure(t.Context(), "base")
	if err == nil || !strings.Contains(err.Error(), "mirror exploded") {
		t.Fatalf("Ensure error = %v; want the build's error", err)
	}
	assertDirEntries(t, filepath.Join(dir, "base"))
	list, err := s.List(t.Context())
	if err != nil || len(list) != 1 || list[0].Built {
		t.Errorf("List = %+v, %v; want base not built", list, err)
	}

	// A failure is not cached: the next call builds again.
	s.build = fakeBuild(&calls)
	tpl, err := s.Ensure(t.Context(), "base")
	if err != nil || !tpl.Built {
		t.Fatalf("Ensure after failure = %+v, %v", tpl, err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("build ran %d times; want 2", n)
	}
}

func TestCancelledBuildDoesNotCount(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	// A build that ignores cancellation and "succeeds" must not count either.
	s := newTestStore(t, dir, func(_ context.Context, rootfs string) error {
		cancel()
		return os.WriteFile(filepath.Join(rootfs, "marker"), nil, 0o644)
	})
	if _, err := s.Ensure(ctx, "base"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ensure error = %v; want context.Canceled", err)
	}
	assertDirEntries(t, filepath.Join(dir, "base"))
}

func TestLeftoversDoNotCountAndAreSwept(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	version := s.current(t.Context(), "base").Version
	// What a crash mid-build leaves: a complete-looking rootfs with no
	// manifest, a build in progress, a manifest temp file.
	for _, p := range []string{version + "/rootfs/usr/bin", ".build-123/rootfs/etc"} {
		if err := os.MkdirAll(filepath.Join(dir, "base", p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "base", ".manifest-1"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tpl := s.current(t.Context(), "base"); tpl.Built {
		t.Fatalf("a tree without manifest counts as built: %+v", tpl)
	}
	tpl, err := s.Ensure(t.Context(), "base")
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("built %d times; want 1", calls.Load())
	}
	assertDirEntries(t, filepath.Join(dir, "base"), manifestFile, tpl.BuildID)
}

func TestCorruptManifestIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	if _, err := s.Ensure(t.Context(), "base"); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{
		"{not json",
		`{"version":"x","build":"../../etc","layers":["rootfs"]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, "base", manifestFile), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ensure(t.Context(), "base"); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("built %d times; want 3", n)
	}
}

func TestMissingLayerIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	tpl, err := s.Ensure(t.Context(), "base")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(tpl.Layers[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ensure(t.Context(), "base"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("built %d times; want 2", n)
	}
}

func TestRebuildSwitchesAndRemovesOld(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	ctx := t.Context()
	old, err := s.Ensure(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	// During the rebuild the previous build stays current.
	prev := old
	s.build = func(ctx context.Context, rootfs string) error {
		if cur := s.current(ctx, "base"); cur.BuildID != prev.BuildID {
			t.Errorf("during rebuild current build = %s; want %s", cur.BuildID, prev.BuildID)
		}
		return fakeBuild(&calls)(ctx, rootfs)
	}
	for range 2 { // the second rebuild reuses the name the first freed
		prev = s.current(ctx, "base")
		if err := s.Rebuild(ctx, "code-interpreter-v1"); err != nil {
			t.Fatal(err)
		}
		cur := s.current(ctx, "base")
		if !cur.Built || cur.BuildID == prev.BuildID || cur.Version != prev.Version {
			t.Errorf("after Rebuild: %+v; want a new build of version %s", cur, prev.Version)
		}
		if _, err := os.Stat(prev.Layers[0]); !os.IsNotExist(err) {
			t.Errorf("old layer %s still there: %v", prev.Layers[0], err)
		}
		assertDirEntries(t, filepath.Join(dir, "base"), manifestFile, cur.BuildID)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("built %d times; want 3", n)
	}
}

func TestFailedRebuildKeepsOld(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	old, err := s.Ensure(t.Context(), "base")
	if err != nil {
		t.Fatal(err)
	}
	s.build = func(context.Context, string) error { return errors.New("no network") }
	if err := s.Rebuild(t.Context(), "base"); err == nil {
		t.Fatal("Rebuild succeeded; want the build's error")
	}
	cur := s.current(t.Context(), "base")
	if !cur.Built || cur.BuildID != old.BuildID {
		t.Errorf("after failed Rebuild: %+v; want build %s", cur, old.BuildID)
	}
	assertDirEntries(t, filepath.Join(dir, "base"), manifestFile, old.BuildID)
}

func TestRecipeVersion(t *testing.T) {
	a := baseRecipe("bookworm")
	if a.version() != baseRecipe("bookworm").version() {
		t.Error("version is not stable")
	}
	if len(a.version()) != 12 {
		t.Errorf("version %q; want 12 hex digits", a.version())
	}
	if a.version() == baseRecipe("trixie").version() {
		t.Error("suite does not change the version")
	}
	b := a
	b.Packages = append(slices.Clone(a.Packages), "vim")
	if a.version() == b.version() {
		t.Error("packages do not change the version")
	}
	c := a
	c.Revision++
	if a.version() == c.version() {
		t.Error("revision does not change the version")
	}
	// The mirror is not part of the recipe: stores differing only in the
	// mirror share builds.
	s1, _ := New(t.TempDir(), Options{Mirror: "http://a.example/debian"})
	s2, _ := New(t.TempDir(), Options{Mirror: "http://b.example/debian"})
	if s1.recipes["base"].version() != s2.recipes["base"].version() {
		t.Error("mirror changes the version")
	}
}

func TestChangedRecipeBuildsNewVersion(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	ctx := t.Context()
	old, err := newTestStoreSuite(t, dir, "bookworm", fakeBuild(&calls)).Ensure(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStoreSuite(t, dir, "trixie", fakeBuild(&calls))
	if cur := s.current(ctx, "base"); cur.Built {
		t.Fatalf("an old version counts as built: %+v", cur)
	}
	tpl, err := s.Ensure(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Version == old.Version || calls.Load() != 2 {
		t.Errorf("new recipe: version %s (old %s), %d builds; want a new version, 2 builds", tpl.Version, old.Version, calls.Load())
	}
	assertDirEntries(t, filepath.Join(dir, "base"), manifestFile, tpl.BuildID)
}

func TestEnsureWaitsForOtherProcessLock(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	// Hold the lock as another process would: a separate open file
	// description conflicts even within one process.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "base.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if _, err := s.Ensure(ctx, "base"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ensure under a held lock = %v; want DeadlineExceeded", err)
	}
	if calls.Load() != 0 {
		t.Fatal("built while another process held the lock")
	}

	done := make(chan error, 1)
	go func() {
		_, err := s.Ensure(t.Context(), "base")
		done <- err
	}()
	time.Sleep(3 * lockPollInterval)
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("built %d times; want 1", calls.Load())
	}
}

func TestList(t *testing.T) {
	var calls atomic.Int32
	s := newTestStore(t, t.TempDir(), fakeBuild(&calls))
	list, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "base" || list[0].Built ||
		!slices.Equal(list[0].Aliases, []string{"code-interpreter-v1"}) || list[0].Version == "" {
		t.Errorf("List before build = %+v", list)
	}
	if _, err := s.Ensure(t.Context(), "base"); err != nil {
		t.Fatal(err)
	}
	list, err = s.List(t.Context())
	if err != nil || len(list) != 1 || !list[0].Built || len(list[0].Layers) != 1 {
		t.Errorf("List after build = %+v, %v", list, err)
	}
	if calls.Load() != 1 {
		t.Errorf("built %d times; want 1", calls.Load())
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New("relative/dir", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(s.Dir()) || s.mirror != DefaultMirror || s.suite != DefaultSuite {
		t.Errorf("New defaults: dir %q mirror %q suite %q", s.Dir(), s.mirror, s.suite)
	}
	if _, err := New("", Options{}); err == nil {
		t.Error("New with an empty dir succeeded")
	}
}
