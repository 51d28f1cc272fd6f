package lifecycle

import (
	goruntime "runtime"
	"sync"
)

// eachFork runs fork for forks 0 to n-1, as many at once as the host has
// CPUs (a restore or a create is mostly the runtime's and CRIU's work on
// one CPU), and returns when all are done. fork fills its own entry.
func eachFork(n int, fork func(i int)) {
	sem := make(chan struct{}, max(1, min(n, goruntime.NumCPU())))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fork(i)
		}()
	}
	wg.Wait()
}
