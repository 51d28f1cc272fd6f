package catalog

import "sync"

// templateLocks are the per-template locks that make a delete of a
// template exclusive with the creates from it, and with nothing else.
type templateLocks struct {
	mu sync.Mutex
	m  map[string]*templateLock
}

type templateLock struct {
	sync.RWMutex
	users int // holders and waiters; the lock is dropped at 0
}

// get returns the lock of template id, counted as used until put.
func (l *templateLocks) get(id string) *templateLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*templateLock{}
	}
	t := l.m[id]
	if t == nil {
		t = &templateLock{}
		l.m[id] = t
	}
	t.users++
	return t
}

func (l *templateLocks) put(id string, t *templateLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(l.m, id)
	}
}

// Hold keeps the template ref names from being deleted until release is
// called: lifecycle.TemplateHold, held by a create from resolving its
// template until its sandbox is recorded. Only that template's deletes
// wait for it, and it waits only for a delete of that template. A ref
// that names no template holds nothing: the create finds no template.
func (c *Catalog) Hold(ref string) (release func()) {
	for {
		id, err := c.Resolve(ref)
		if err != nil {
			return func() {}
		}
		t := c.holds.get(id)
		t.RLock()
		// The name may have been deleted and taken by a new template
		// while this waited: hold the one it names now.
		if again, err := c.Resolve(ref); err != nil || again == id {
			return func() { t.RUnlock(); c.holds.put(id, t) }
		}
		t.RUnlock()
		c.holds.put(id, t)
	}
}

// lockForDelete keeps the creates from template id out until unlock.
func (c *Catalog) lockForDelete(id string) (unlock func()) {
	t := c.holds.get(id)
	t.Lock()
	return func() { t.Unlock(); c.holds.put(id, t) }
}
